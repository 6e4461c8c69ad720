package kube

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Client calls one API server. It is safe for concurrent use.
type Client struct {
	server    string
	token     string
	tokenFile string
	http      *http.Client
}

// maxBody bounds what is read from one answer; lifeboat's answers are small objects and
// label-selected pod lists, so anything larger is a misbehaving server.
const maxBody = 32 << 20

// New checks cfg and builds a Client. The token file is not read here but on each request.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("kubernetes server %q must be a URL like https://host:port", cfg.Server)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("read kubernetes CA: %w", err)
		}
	}
	if len(ca) > 0 {
		tlsCfg.RootCAs = x509.NewCertPool()
		if !tlsCfg.RootCAs.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("kubernetes CA %s holds no PEM certificate", cmp.Or(cfg.CAFile, "(caData)"))
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone() // keeps HTTPS_PROXY/NO_PROXY
	tr.TLSClientConfig = tlsCfg
	return &Client{
		server:    strings.TrimRight(cfg.Server, "/"),
		token:     cfg.Token,
		tokenFile: cfg.TokenFile,
		http:      &http.Client{Transport: tr, Timeout: 30 * time.Second},
	}, nil
}

// String names the server for logs.
func (c *Client) String() string { return c.server }

// call is one API request plus what an error message needs to say about it.
type call struct {
	method, path string
	query        url.Values
	patch        any // sent as a JSON merge patch
	// verb, resource, namespace, kind and name describe the request for errors, in
	// the words of RBAC rules ("patch deployments/scale").
	verb, resource, namespace, kind, name string
}

func (c *Client) do(ctx context.Context, r call, out any) error {
	var body []byte
	if r.patch != nil {
		var err error
		if body, err = json.Marshal(r.patch); err != nil {
			return fmt.Errorf("encode %s %s: %w", r.verb, r.resource, err)
		}
	}
	var lastErr error
	// Retries cover an API server restart or overload (etcd leader change, rolling
	// upgrade): a scale-back that gives up on the first 503 would leave a controller at 0.
	// Every request lifeboat sends is safe to repeat: GETs and absolute merge patches.
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(lastErr, context.Cause(ctx))
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		token, err := c.bearer()
		if err != nil {
			return err
		}
		status, data, err := c.send(ctx, r, token, body)
		if err != nil {
			lastErr = fmt.Errorf("%s %s %s: %w", r.verb, r.resource, r.object(), err)
			if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
				return fmt.Errorf("%w: the API server's certificate is not signed by the configured CA; check restore.kubernetes.caFile", lastErr)
			}
			if ctx.Err() != nil {
				return lastErr
			}
			continue
		}
		if status/100 == 2 {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("decode %s %s %s: %w", r.verb, r.resource, r.object(), err)
			}
			return nil
		}
		lastErr = newAPIError(status, r, data)
		if status != http.StatusTooManyRequests && status < 500 {
			return lastErr
		}
	}
	return lastErr
}

func (c *Client) send(ctx context.Context, r call, token string, body []byte) (int, []byte, error) {
	u := c.server + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "lifeboat")
	if body != nil {
		req.Header.Set("Content-Type", "application/merge-patch+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, data, nil
}

func (c *Client) bearer() (string, error) {
	if c.token != "" || c.tokenFile == "" {
		return c.token, nil
	}
	data, err := os.ReadFile(c.tokenFile)
	if err != nil {
		return "", fmt.Errorf("read kubernetes token (restore.kubernetes.tokenFile): %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("kubernetes token file %s is empty", c.tokenFile)
	}
	return token, nil
}

func (r call) object() string {
	switch {
	case r.name == "":
		return "in namespace " + r.namespace
	case r.namespace == "":
		return r.name
	}
	return r.namespace + "/" + r.name
}
