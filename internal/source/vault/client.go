package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// Client talks to one cluster. It is safe for one run at a time.
type Client struct {
	opts Options
	cfg  *vaultapi.Config
	api  *vaultapi.Client
	// raw shares the API client's TLS settings but never follows redirects: a standby
	// answers a snapshot request with 307, and the official client follows it yet hands
	// back the original empty response (hashicorp/vault#15258, fix never merged).
	raw *http.Client
}

// New builds a client; it does not touch the network.
//
// Everything comes from opts: vaultapi.DefaultConfig would read VAULT_SKIP_VERIFY,
// VAULT_CACERT, VAULT_CLIENT_CERT, VAULT_TLS_SERVER_NAME, VAULT_AGENT_ADDR,
// VAULT_PROXY_ADDR, VAULT_RATE_LIMIT and more from the process environment, so a variable
// left in a pod could turn certificate checks off or send the token elsewhere. Only the
// standard HTTPS_PROXY/NO_PROXY variables apply, as for every other client in lifeboat.
func New(opts Options) (*Client, error) {
	if opts.Address == "" && len(opts.Nodes) > 0 {
		opts.Address = opts.Nodes[0]
	}
	if opts.Address == "" {
		return nil, errors.New("vault: no address configured (set vault.address or vault.nodes)")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	tlsCfg, err := tlsConfig(opts.TLS)
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tlsCfg,
	}
	if socket, ok := strings.CutPrefix(opts.Address, "unix://"); ok {
		// A scratch server's socket (internal/scratch): every request of this client,
		// the raw snapshot ones too, goes there.
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}
	}
	httpClient := &http.Client{
		Transport: transport,
		// The API client handles redirects itself; the raw snapshot client must see them.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	cfg := &vaultapi.Config{
		Address:      opts.Address,
		HttpClient:   httpClient,
		Timeout:      opts.Timeout,
		MaxRetries:   2,
		MinRetryWait: time.Second,
		MaxRetryWait: 1500 * time.Millisecond,
	}
	api, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault client for %s: %w (the Vault client library still parses VAULT_* environment variables although lifeboat ignores them: unset the malformed one)", opts.Address, err)
	}
	// NewClient also takes VAULT_TOKEN, VAULT_NAMESPACE and VAULT_HEADERS from the
	// environment; none of them may reach a client that is configured explicitly.
	cleanHeaders(api)
	api.ClearToken()
	raw := *httpClient
	raw.Timeout = 0 // snapshots are long streams; contexts bound them instead
	return &Client{opts: opts, cfg: cfg, api: api, raw: &raw}, nil
}

// requestURL is the URL of path on the node at addr, for the raw requests: a unix://
// address is reached over the socket the transport dials, as http://localhost.
func requestURL(addr, path string) string {
	if strings.HasPrefix(addr, "unix://") {
		return "http://localhost" + path
	}
	return addr + path
}

// tlsConfig builds the TLS settings from lifeboat's configuration alone.
func tlsConfig(t TLS) (*tls.Config, error) {
	// InsecureSkipVerify only ever comes from vault.tlsSkipVerify in the config.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.SkipVerify}
	if (t.ClientCert == "") != (t.ClientKey == "") {
		return nil, fmt.Errorf("vault TLS: clientCert (%q) and clientKey (%q) must be set together: set both for client-certificate authentication, or neither", t.ClientCert, t.ClientKey)
	}
	if t.CACert != "" {
		pem, err := os.ReadFile(t.CACert)
		if err != nil {
			return nil, fmt.Errorf("vault TLS: read caCert: %w; point vault.caCert at the PEM file of the CA that signed Vault's certificate", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("vault TLS: caCert %s holds no PEM certificate; point vault.caCert at the PEM file of the CA that signed Vault's certificate", t.CACert)
		}
		cfg.RootCAs = pool
	}
	if t.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("vault TLS: load clientCert %s / clientKey %s: %w; both must be PEM and belong together", t.ClientCert, t.ClientKey, err)
		}
		// Offer the certificate whatever CAs the server lists, as the Vault CLI does: the
		// cert auth method's CA need not be in the listener's client CA list.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return cfg, nil
}

// cleanHeaders drops every header the environment put on a client (VAULT_HEADERS,
// VAULT_NAMESPACE) and keeps only the SSRF-protection header the server expects.
func cleanHeaders(api *vaultapi.Client) {
	api.SetHeaders(http.Header{vaultapi.RequestHeaderName: []string{"true"}})
}

// at returns an API client for another node address, sharing token and TLS.
func (c *Client) at(addr string) (*vaultapi.Client, error) {
	cl, err := c.api.Clone()
	if err != nil {
		return nil, fmt.Errorf("vault client for %s: %w", addr, err)
	}
	if err := cl.SetAddress(addr); err != nil {
		return nil, fmt.Errorf("vault address %q: %w", addr, err)
	}
	// Clone runs NewClient again, which re-reads VAULT_TOKEN and VAULT_NAMESPACE.
	cleanHeaders(cl)
	cl.SetToken(c.api.Token())
	return cl, nil
}

// candidates are the configured addresses, Address first, without duplicates.
func (c *Client) candidates() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range append([]string{c.opts.Address}, c.opts.Nodes...) {
		a = strings.TrimRight(a, "/")
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// Token is the current client token (after Login).
func (c *Client) Token() string { return c.api.Token() }

// SetToken sets the token directly (tests, restore with a known token).
func (c *Client) SetToken(token string) { c.api.SetToken(token) }

// vaultSaid is a Vault API error in one line ("HTTP 403: permission denied"); it unwraps
// to the *vaultapi.ResponseError, whose own message spans several lines.
type vaultSaid struct{ re *vaultapi.ResponseError }

func (e vaultSaid) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.re.StatusCode, strings.Join(e.re.Errors, "; "))
}

func (e vaultSaid) Unwrap() error { return e.re }

// explain turns an API error into a sentence with the node and what to do.
func explain(addr, action string, err error) error {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		said := vaultSaid{re}
		switch re.StatusCode {
		case http.StatusForbidden:
			return fmt.Errorf("vault at %s refused to %s: permission denied (%w); check the token or login role and its policies", addr, action, said)
		case http.StatusServiceUnavailable:
			return fmt.Errorf("vault at %s cannot %s: it is sealed, not initialised or still starting (%w); "+
				"run `vault status` (or `bao status`) against it: unseal it with its unseal keys, wait for it to finish starting, "+
				"or, if it is not initialised, restore into it (see `lifeboat restore vault --help` and `lifeboat vault auto-restore --help`)", addr, action, said)
		}
		return fmt.Errorf("vault at %s failed to %s: %w; check the server log at that address", addr, action, said)
	}
	return fmt.Errorf("cannot reach vault at %s to %s: %w; check vault.address/nodes, network policy and TLS settings", addr, action, err)
}

// nodeTrouble says whether err is about the node (unreachable, sealed, starting, behind
// a failing proxy) rather than about the request, so the same request may succeed at
// another node. A 500 is the request's: auth plugins answer failed logins with it.
func nodeTrouble(err error) bool {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return true
}
