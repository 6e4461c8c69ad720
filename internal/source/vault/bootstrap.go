package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// RestoreIntoUninitialised brings a node whose barrier was never initialised (a scratch
// instance, or a cluster whose storage was lost) to the state in snapshot: it initialises
// it with one temporary key share, unseals it, force-restores the snapshot with the
// temporary root token, and unseals the result with the snapshot's original keys.
//
// The temporary key and token exist only in this function's memory: they are never
// logged or written anywhere, and are useless once the restore replaced the keyring.
// opts.Address must be the node to initialise; its TLS settings are used.
func RestoreIntoUninitialised(ctx context.Context, opts Options, snapshot io.Reader, originalKeys []string) (RestoreOutcome, error) {
	if len(originalKeys) == 0 {
		return RestoreOutcome{}, errors.New("the unseal keys of the cluster the snapshot came from are needed to open a restored cluster")
	}
	opts.Nodes = nil
	var token string
	opts.Auth = Auth{Method: AuthToken, Describe: "the temporary root token", Token: func() (string, error) { return token, nil }}
	c, err := New(opts)
	if err != nil {
		return RestoreOutcome{}, err
	}
	if token, err = c.initTemporary(ctx, len(originalKeys)); err != nil {
		return RestoreOutcome{}, err
	}
	if err := c.Login(ctx); err != nil {
		return RestoreOutcome{}, err
	}
	leader, err := c.FindLeader(ctx)
	if err != nil {
		return RestoreOutcome{}, err
	}
	if err := c.Restore(ctx, leader, snapshot, true); err != nil {
		return RestoreOutcome{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return c.ConfirmRestore(wctx, originalKeys, 500*time.Millisecond, true)
}

// initTemporary initialises the node with throwaway key shares, unseals it and waits until
// it is the active node. It returns the temporary root token.
//
// The temporary seal configuration uses as many shares, all required, as there are
// original keys: after a restore the server keeps its in-memory seal configuration until
// it restarts, so the original keys must combine under it. Shamir reconstructs from any
// number of shares at or above the original threshold, so requiring all of them works.
func (c *Client) initTemporary(ctx context.Context, originalKeys int) (string, error) {
	shares := max(originalKeys, 1)
	resp, err := c.api.Sys().InitWithContext(ctx, &vaultapi.InitRequest{SecretShares: shares, SecretThreshold: shares})
	if err != nil {
		return "", explain(c.opts.Address, "initialise", err)
	}
	for _, k := range resp.KeysB64 {
		if _, err := c.api.Sys().UnsealWithContext(ctx, k); err != nil {
			return "", explain(c.opts.Address, "unseal with the temporary keys", err)
		}
	}
	api, err := c.at(c.opts.Address)
	if err != nil {
		return "", err
	}
	api.SetToken(resp.RootToken)
	deadline := time.Now().Add(90 * time.Second)
	for {
		h, err := api.Sys().HealthWithContext(ctx)
		if err == nil && h.Initialized && !h.Sealed && !h.Standby {
			if _, err = api.Auth().Token().LookupSelfWithContext(ctx); err == nil {
				return resp.RootToken, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("vault at %s did not become active after the temporary initialisation: %v", c.opts.Address, err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}
