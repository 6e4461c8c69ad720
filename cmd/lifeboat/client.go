package main

import (
	"bytes"
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

	"github.com/spf13/cobra"
)

// clientOptions turn a command into a thin client of a running `lifeboat serve`. The
// token comes from a file or the environment, never from a flag value (which would end up
// in shell history and the process list).
type clientOptions struct {
	server    string
	tokenFile string
	serverCA  string
}

func (o *clientOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "call the API of a running lifeboat server at this URL (e.g. http://127.0.0.1:8080) instead of working locally")
	f.StringVar(&o.tokenFile, "token-file", "", "with --server: file holding the server's token (default: env LIFEBOAT_TOKEN)")
	f.StringVar(&o.serverCA, "server-ca", "", "with --server: CA bundle (PEM) to trust for an https server")
}

// apiClient calls /api/v1 of a lifeboat server.
type apiClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

func (o *clientOptions) client() (*apiClient, error) {
	u, err := url.Parse(strings.TrimSuffix(o.server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError("--server: want a URL like http://127.0.0.1:8080 (got %q)", o.server)
	}
	c := &apiClient{base: u, http: &http.Client{Timeout: 5 * time.Minute}}
	switch {
	case o.tokenFile != "":
		data, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, usageError("--token-file: %w", err)
		}
		c.token = strings.TrimSpace(string(data))
	default:
		c.token = os.Getenv("LIFEBOAT_TOKEN")
	}
	if o.serverCA != "" {
		pem, err := os.ReadFile(o.serverCA)
		if err != nil {
			return nil, usageError("--server-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageError("--server-ca %s: no PEM certificate in it", o.serverCA)
		}
		c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return c, nil
}

// apiStatusError is a non-2xx answer from the server.
type apiStatusError struct {
	Code      int
	Message   string
	RunningID string
}

func (e *apiStatusError) Error() string { return e.Message }

// call sends in (when non-nil) as JSON and decodes a 2xx answer into out. A non-2xx
// answer is an *apiStatusError carrying the server's message, with an exit code: the
// request was wrong (3) or the server could not do it (1).
func (c *apiClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("lifeboat server %s: %w; is `lifeboat serve` running there?", c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("lifeboat server %s: read the answer: %w", c.base.Redacted(), err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error     string `json:"error"`
			RunningID string `json:"runningID"`
		}
		_ = json.Unmarshal(data, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		se := &apiStatusError{Code: resp.StatusCode, Message: fmt.Sprintf("lifeboat server %s: %s: %s", c.base.Redacted(), resp.Status, e.Error), RunningID: e.RunningID}
		if resp.StatusCode == http.StatusUnauthorized {
			se.Message += " (set LIFEBOAT_TOKEN or --token-file to the server's token)"
		}
		return withExitCode(apiExitCode(resp.StatusCode), se)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("lifeboat server %s: unexpected answer to %s %s: %w", c.base.Redacted(), method, path, err)
		}
	}
	return nil
}

// apiExitCode: what the caller asked for was wrong (bad token, unknown source) is a usage
// error; everything else is a failure.
func apiExitCode(status int) int {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return exitUsage
	default:
		return exitFailure
	}
}

func isConflict(err error) (*apiStatusError, bool) {
	var se *apiStatusError
	return se, errors.As(err, &se) && se.Code == http.StatusConflict
}
