package vault

import (
	"errors"
	"fmt"
	"net/http"
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
	cfg := vaultapi.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault client defaults: %w", cfg.Error)
	}
	cfg.Address = opts.Address
	cfg.Timeout = opts.Timeout
	cfg.MaxRetries = 2
	t := opts.TLS
	if t.CACert != "" || t.ClientCert != "" || t.ServerName != "" || t.SkipVerify {
		err := cfg.ConfigureTLS(&vaultapi.TLSConfig{
			CACert: t.CACert, ClientCert: t.ClientCert, ClientKey: t.ClientKey,
			TLSServerName: t.ServerName, Insecure: t.SkipVerify,
		})
		if err != nil {
			return nil, fmt.Errorf("vault TLS settings (caCert %q, clientCert %q): %w", t.CACert, t.ClientCert, err)
		}
	}
	api, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault client for %s: %w", opts.Address, err)
	}
	// The process environment (VAULT_TOKEN, VAULT_NAMESPACE) must not leak into a client
	// that is configured explicitly.
	api.ClearToken()
	api.ClearNamespace()
	raw := *cfg.HttpClient
	raw.Timeout = 0 // snapshots are long streams; contexts bound them instead
	raw.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{opts: opts, cfg: cfg, api: api, raw: &raw}, nil
}

// at returns an API client for another node address, sharing token and TLS.
func (c *Client) at(addr string) (*vaultapi.Client, error) {
	cl, err := c.api.Clone()
	if err != nil {
		return nil, err
	}
	if err := cl.SetAddress(addr); err != nil {
		return nil, fmt.Errorf("vault address %q: %w", addr, err)
	}
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

// explain turns an API error into a sentence with the node and what to do.
func explain(addr, action string, err error) error {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusForbidden:
			return fmt.Errorf("vault at %s refused to %s: permission denied (%s); check the token or login role and its policies", addr, action, strings.Join(re.Errors, "; "))
		case http.StatusServiceUnavailable:
			return fmt.Errorf("vault at %s cannot %s: it is sealed or not initialised (%s)", addr, action, strings.Join(re.Errors, "; "))
		}
		return fmt.Errorf("vault at %s failed to %s: HTTP %d: %s", addr, action, re.StatusCode, strings.Join(re.Errors, "; "))
	}
	return fmt.Errorf("cannot reach vault at %s to %s: %w; check vault.address/nodes, network policy and TLS settings", addr, action, err)
}
