package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const snapshotPath = "/v1/sys/storage/raft/snapshot"

// Snapshot opens the raft snapshot stream of the leader. The caller closes it and should
// check the bytes with InspectSnapshot: a 200 answer can still carry an empty or truncated
// archive.
func (c *Client) Snapshot(ctx context.Context, leader Leader) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, requestURL(leader.Address, snapshotPath), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", c.api.Token())
	resp, err := c.raw.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the raft leader at %s for a snapshot: %w", leader.Address, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp.Body, nil
	}
	defer resp.Body.Close()
	return nil, c.httpError(resp, leader.Address, "stream a raft snapshot", SnapshotPolicy)
}

// Restore streams a snapshot into the leader. force is required for a snapshot taken from
// another cluster (or from this cluster before it was re-initialised).
func (c *Client) Restore(ctx context.Context, leader Leader, snapshot io.Reader, force bool) error {
	path := snapshotPath
	if force {
		path += "-force"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, requestURL(leader.Address, path), snapshot)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", c.api.Token())
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.raw.Do(req)
	if err != nil {
		return fmt.Errorf("restore to the raft leader at %s: %w", leader.Address, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = c.httpError(resp, leader.Address, "restore the raft snapshot", RestorePolicy)
	if resp.StatusCode == http.StatusBadRequest && !force && strings.Contains(err.Error(), "keyring") {
		err = fmt.Errorf("%w; the snapshot comes from another cluster (or from before a re-init): use --force, then unseal with the snapshot's original unseal keys", err)
	}
	return err
}

func (c *Client) httpError(resp *http.Response, addr, action, policy string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var parsed struct {
		Errors []string `json:"errors"`
	}
	detail := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &parsed) == nil && len(parsed.Errors) > 0 {
		detail = strings.Join(parsed.Errors, "; ")
	}
	switch {
	case resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect:
		return fmt.Errorf("vault at %s is a standby and redirected to %s instead of serving the request to %s; list every node under vault.nodes so lifeboat can find the leader",
			addr, resp.Header.Get("Location"), action)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("vault at %s refused to %s: permission denied (%s); the token's policy needs:\n%s", addr, action, detail, policy)
	case resp.StatusCode == http.StatusServiceUnavailable:
		return fmt.Errorf("vault at %s cannot %s: sealed or not ready (%s)", addr, action, detail)
	}
	return fmt.Errorf("vault at %s failed to %s: HTTP %d: %s", addr, action, resp.StatusCode, detail)
}
