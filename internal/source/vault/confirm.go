package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// RestoreOutcome is what lifeboat observed after a restore.
type RestoreOutcome struct {
	Sealed       bool   // the cluster sealed itself and needs the snapshot's unseal keys
	Unsealed     bool   // lifeboat unsealed it with the keys it was given
	LeaderAddr   string // the leader after the restore
	RaftIndex    uint64 // from the snapshot restored
	HealthStatus string // what /sys/health said at the end

	unsealFailedSince time.Time
	autoSealedSince   time.Time
}

// autoSealWindow is how long an auto-unsealed node may stay sealed after a restore before
// its seal is taken to be unable to decrypt the restored keyring: it retries on its own
// within seconds when it can.
const autoSealWindow = 30 * time.Second

// unsealRetryWindow is how long unseal errors right after a restore are retried.
const unsealRetryWindow = 45 * time.Second

// ConfirmRestore waits until the cluster has settled after a restore. Vault acknowledges a
// restore before it has finished applying it, and seals a node if applying fails or when
// the snapshot's keyring differs, so success is only reported once a leader serves
// requests again. When the cluster is sealed and unsealKeys are given they are used;
// without keys a sealed cluster is reported (not an error: the operator must unseal with
// the snapshot's original keys).
//
// After a forced restore the snapshot's keyring replaces the cluster's, and Vault seals
// itself shortly after acknowledging the request; forced says to wait for that (or for
// the restoring token to vanish with the old data, up to a minute) so the old, still
// unsealed state is not mistaken for success.
func (c *Client) ConfirmRestore(ctx context.Context, unsealKeys []string, poll time.Duration, forced bool) (RestoreOutcome, error) {
	var out RestoreOutcome
	if poll == 0 {
		poll = time.Second
	}
	if forced {
		c.waitForKeyringSwitch(ctx, poll)
	}
	var last error
	// Give the server a moment to start applying, so an old "active" answer is not taken
	// as success.
	select {
	case <-time.After(2 * poll):
	case <-ctx.Done():
		return out, ctx.Err()
	}
	for {
		done, err := c.restoreSettled(ctx, unsealKeys, &out)
		if done {
			return out, err
		}
		last = err
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return out, fmt.Errorf("vault did not become healthy after the restore: %w; check the server logs (raise --timeout if it is still applying a large snapshot)", last)
		case <-time.After(poll):
		}
	}
}

// restoreSettled checks every node once. A node that does not answer (or answers
// oddly) is noted and skipped: one standby that is down must not hold up a restore that
// the leader has completed. Success needs the leader itself to answer as active.
func (c *Client) restoreSettled(ctx context.Context, keys []string, out *RestoreOutcome) (bool, error) {
	sealedNodes := 0
	var answering, problems []string
	for _, addr := range c.candidates() {
		api, err := c.at(addr)
		if err != nil {
			return true, err
		}
		st, err := api.Sys().SealStatusWithContext(ctx)
		if err != nil {
			problems = append(problems, explain(addr, "report its seal status", err).Error())
			continue
		}
		if !st.Initialized {
			problems = append(problems, fmt.Sprintf("vault at %s reports not initialised", addr))
			continue
		}
		answering = append(answering, addr)
		if !st.Sealed {
			continue
		}
		if autoUnseal(st.Type) {
			// Its own seal unseals it, or never will if it cannot decrypt the restored
			// keyring (another key, or credentials that may not use it).
			if out.autoSealedSince.IsZero() {
				out.autoSealedSince = time.Now()
			}
			if time.Since(out.autoSealedSince) > autoSealWindow {
				return true, fmt.Errorf("vault at %s stayed sealed for %s after the restore: its %s seal did not unseal it, so it most likely cannot decrypt the restored keyring; "+
					"the server log says why (look for \"failed to decrypt\")", addr, autoSealWindow, st.Type)
			}
			problems = append(problems, fmt.Sprintf("vault at %s is sealed and waiting for its %s seal to unseal it", addr, st.Type))
			continue
		}
		sealedNodes++
		if len(keys) == 0 {
			continue
		}
		if err := unseal(ctx, api, keys); err != nil {
			// Right after sealing, a node can still hold the old seal configuration
			// (e.g. one share instead of the snapshot's three) and reject good keys as
			// "invalid key"; keep trying for a while before calling the keys wrong.
			if out.unsealFailedSince.IsZero() {
				out.unsealFailedSince = time.Now()
			}
			if time.Since(out.unsealFailedSince) < unsealRetryWindow {
				_, _ = api.Sys().ResetUnsealProcessWithContext(ctx)
				return false, fmt.Errorf("unseal %s: %w", addr, err)
			}
			if strings.Contains(err.Error(), "invalid key size") {
				return true, fmt.Errorf("vault at %s sealed itself after the restore and still expects the key shares of the cluster it was initialised with before (%w): "+
					"restart the Vault server process so it reads the restored seal configuration, then unseal it with the original keys "+
					"(initialising the empty cluster with the original -key-shares/-key-threshold avoids this)", addr, err)
			}
			return true, fmt.Errorf("vault at %s sealed itself after the restore and the given keys did not unseal it: %w; use the unseal keys of the cluster the snapshot came from", addr, err)
		}
		out.Unsealed = true
	}
	if len(answering) == 0 {
		return false, fmt.Errorf("no configured node answers yet: %s", strings.Join(problems, "; "))
	}
	if sealedNodes > 0 && len(keys) == 0 {
		out.Sealed = true
		return true, nil
	}
	for _, addr := range answering {
		api, err := c.at(addr)
		if err != nil {
			return true, err
		}
		l, err := api.Sys().LeaderWithContext(ctx)
		if err != nil {
			problems = append(problems, explain(addr, "report its leader", err).Error())
			continue
		}
		if l.LeaderAddress == "" {
			continue
		}
		out.LeaderAddr = l.LeaderAddress
		if !l.IsSelf {
			continue
		}
		h, err := api.Sys().HealthWithContext(ctx)
		if err != nil {
			return false, explain(addr, "report health", err)
		}
		if h.Sealed || h.Standby || !h.Initialized {
			return false, fmt.Errorf("leader %s not active yet (sealed=%v standby=%v)", addr, h.Sealed, h.Standby)
		}
		out.HealthStatus = "active"
		return true, nil
	}
	if out.LeaderAddr == "" {
		problems = append([]string{"no raft leader elected yet"}, problems...)
	} else {
		problems = append([]string{fmt.Sprintf("the leader %s is not among the configured addresses that answer", out.LeaderAddr)}, problems...)
	}
	return false, errors.New(strings.Join(problems, "; "))
}

func unseal(ctx context.Context, api *vaultapi.Client, keys []string) error {
	for _, k := range keys {
		st, err := api.Sys().UnsealWithContext(ctx, strings.TrimSpace(k))
		if err != nil {
			return err
		}
		if !st.Sealed {
			return nil
		}
	}
	return errors.New("still sealed after every key was submitted (too few keys, or keys of another cluster)")
}

// waitForKeyringSwitch polls until a node reports sealed, or a minute passes (the keyring
// did not change: nothing will happen). The restoring token vanishing with the old data
// comes slightly before the seal, so it only ends the wait once it has lasted 10 seconds.
func (c *Client) waitForKeyringSwitch(ctx context.Context, poll time.Duration) {
	deadline := time.Now().Add(time.Minute)
	var tokenGone time.Time
	for time.Now().Before(deadline) {
		for _, addr := range c.candidates() {
			api, err := c.at(addr)
			if err != nil {
				return
			}
			if st, err := api.Sys().SealStatusWithContext(ctx); err == nil && st.Sealed {
				return
			}
			var re *vaultapi.ResponseError
			if _, err := api.Auth().Token().LookupSelfWithContext(ctx); errors.As(err, &re) && re.StatusCode == 403 {
				if tokenGone.IsZero() {
					tokenGone = time.Now()
				} else if time.Since(tokenGone) > 10*time.Second {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
	}
}
