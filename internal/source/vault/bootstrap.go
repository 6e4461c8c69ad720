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
// it with temporary key shares, unseals it, force-restores the snapshot with the
// temporary root token, and unseals the result with the snapshot's original keys.
//
// The temporary key and token exist only in this function's memory: they are never
// logged or written anywhere, and are useless once the restore replaced the keyring.
// opts.Address must be the node to initialise; its TLS settings are used.
//
// A node with an auto-unseal seal (Transit, a KMS, an HSM, a static key) is initialised
// with temporary recovery shares instead and unseals itself; it needs no original keys,
// and after the restore the snapshot's keyring is decrypted by the same seal.
func RestoreIntoUninitialised(ctx context.Context, opts Options, snapshot io.Reader, originalKeys []string) (RestoreOutcome, error) {
	opts.Nodes = nil
	var token string
	opts.Auth = Auth{Method: AuthToken, Describe: "the temporary root token", Token: func() (string, error) { return token, nil }}
	c, err := New(opts)
	if err != nil {
		return RestoreOutcome{}, err
	}
	st, err := c.api.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return RestoreOutcome{}, explain(opts.Address, "report its seal status", err)
	}
	auto := autoUnseal(st.Type)
	if !auto && len(originalKeys) == 0 {
		return RestoreOutcome{}, errors.New("the unseal keys of the cluster the snapshot came from are needed to open a restored Shamir-sealed cluster (or configure the cluster's auto-unseal seal)")
	}
	if token, err = c.initTemporary(ctx, len(originalKeys), auto); err != nil {
		return RestoreOutcome{}, err
	}
	if err := c.Login(ctx); err != nil {
		return RestoreOutcome{}, c.lostTemporaryKeys(err)
	}
	leader, err := c.FindLeader(ctx)
	if err != nil {
		return RestoreOutcome{}, c.lostTemporaryKeys(err)
	}
	if err := c.Restore(ctx, leader, snapshot, true); err != nil {
		return RestoreOutcome{}, c.lostTemporaryKeys(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := c.ConfirmRestore(wctx, originalKeys, 500*time.Millisecond, true)
	if err != nil && auto {
		return out, fmt.Errorf("%w. The snapshot's keyring is encrypted by the seal of the cluster it came from: check that the %s seal names the same key (key name, key id, region, key ring, mount) "+
			"and that its credentials may decrypt with it; %s", err, st.Type, wipeAndRerun(c.opts.Address))
	}
	if err != nil {
		return out, fmt.Errorf("%w; the snapshot was sent to %s: try unsealing it with the original keys; if they do not open it, it still holds the lost temporary keyring: %s",
			err, c.opts.Address, wipeAndRerun(c.opts.Address))
	}
	return out, nil
}

// lostTemporaryKeys explains a failure after the temporary initialisation: the node is
// initialised now, and the only keys that open it die with this process, so the only
// way forward is to wipe it and start over.
func (c *Client) lostTemporaryKeys(err error) error {
	return fmt.Errorf("%w; node %s is now initialised with temporary keys that were kept only in memory and are lost: %s",
		err, c.opts.Address, wipeAndRerun(c.opts.Address))
}

func wipeAndRerun(addr string) string {
	return fmt.Sprintf("to retry, stop the Vault server at %s, delete its raft data (its volume/PVC contents), start it again uninitialised and rerun `lifeboat vault auto-restore` "+
		"(a drill's or recover's scratch server is discarded by itself: just rerun that command)", addr)
}

// initTemporary initialises the node with throwaway key shares, unseals it and waits until
// it is the active node. It returns the temporary root token.
//
// The temporary seal configuration uses as many shares, all required, as there are
// original keys: after a restore the server keeps its in-memory seal configuration until
// it restarts, so the original keys must combine under it. Shamir reconstructs from any
// number of shares at or above the original threshold, so requiring all of them works.
//
// An auto-unsealed node gets one temporary recovery share instead and unseals itself.
func (c *Client) initTemporary(ctx context.Context, originalKeys int, auto bool) (string, error) {
	shares := max(originalKeys, 1)
	req := &vaultapi.InitRequest{SecretShares: shares, SecretThreshold: shares}
	if auto {
		req = &vaultapi.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1}
	}
	resp, err := c.api.Sys().InitWithContext(ctx, req)
	if err != nil {
		return "", explain(c.opts.Address, "initialise", err)
	}
	for _, k := range resp.KeysB64 {
		if auto {
			break
		}
		if _, err := c.api.Sys().UnsealWithContext(ctx, k); err != nil {
			return "", c.lostTemporaryKeys(explain(c.opts.Address, "unseal with the temporary keys", err))
		}
	}
	api, err := c.at(c.opts.Address)
	if err != nil {
		return "", c.lostTemporaryKeys(err)
	}
	api.SetToken(resp.RootToken)
	deadline := time.Now().Add(90 * time.Second)
	for {
		var last error
		h, err := api.Sys().HealthWithContext(ctx)
		switch {
		case err != nil:
			last = explain(c.opts.Address, "report health", err)
		case !h.Initialized || h.Sealed || h.Standby:
			last = fmt.Errorf("health says initialized=%v sealed=%v standby=%v", h.Initialized, h.Sealed, h.Standby)
		default:
			if _, err = api.Auth().Token().LookupSelfWithContext(ctx); err == nil {
				return resp.RootToken, nil
			}
			last = explain(c.opts.Address, "look up the temporary root token", err)
		}
		if time.Now().After(deadline) {
			return "", c.lostTemporaryKeys(fmt.Errorf("vault at %s did not become active within 90s after the temporary initialisation: %w", c.opts.Address, last))
		}
		select {
		case <-ctx.Done():
			return "", c.lostTemporaryKeys(ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}
