package vault

import (
	"context"
	"fmt"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// liveRestore streams a snapshot into the live cluster's raft leader and waits until the
// cluster is active again (`lifeboat restore <vault source> --snapshot …`).
type liveRestore struct {
	src    *config.Source
	opts   source.RestoreOptions
	env    source.Env
	client *Client
	keys   []string
}

// Prepare builds the client (with --address and --token-file) and reads the unseal keys;
// Vault itself is not contacted before the backup has verified.
func (r *liveRestore) Prepare(ctx context.Context) error {
	client, err := ClientFor(withOverrides(r.src, r.opts.Address, r.opts.TokenFile))
	if err != nil {
		return fmt.Errorf("%w: %w", source.ErrUsage, err)
	}
	r.client = client
	if r.opts.UnsealKeysFile != "" {
		keys, err := UnsealKeys{File: r.opts.UnsealKeysFile}.Load(ctx)
		if err != nil {
			return fmt.Errorf("%w: --unseal-keys-file: %w", source.ErrUsage, err)
		}
		r.keys = keys
	}
	return nil
}

func (r *liveRestore) Check(context.Context, *source.Backup) error { return nil }

// ReadOnce: Vault writes the snapshot-restore request's body to a temporary file and
// applies it only once the body ended (WriteSnapshotToTemp in Vault's and OpenBao's raft
// backend), and a body whose reader fails is never completed: the HTTP client aborts the
// request. So the snapshot is verified while it is sent, and Run can run again with
// another copy.
func (r *liveRestore) ReadOnce() bool { return true }

func (r *liveRestore) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	if err := r.client.Login(ctx); err != nil {
		return nil, err
	}
	leader, err := r.client.FindLeader(ctx)
	if err != nil {
		return nil, err
	}
	r.env.Printf("restoring into the raft leader %s (%s) ...\n", leader.Address, leader.Version)
	body, err := b.Open(ctx)
	if err != nil {
		return nil, err
	}
	err = r.client.Restore(ctx, leader, body, r.opts.Force)
	body.Close()
	if err != nil {
		return nil, err
	}
	r.env.Printf("  the leader accepted the snapshot; waiting for the cluster to settle ...\n")
	timeout := r.opts.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	outcome, err := r.client.ConfirmRestore(wctx, r.keys, time.Second, r.opts.Force)
	if err != nil {
		return nil, err
	}
	if outcome.Sealed {
		r.env.Printf("restored %s. Vault is now SEALED: unseal it with the unseal keys of the cluster the snapshot was taken from\n"+
			"(`bao operator unseal` / `vault operator unseal`, or rerun with --unseal-keys-file). Tokens of that cluster are valid again; tokens issued after the snapshot are not.\n", b.Label)
		return []source.Check{source.NewCheck("restore", true, "accepted by the leader; the cluster is sealed, waiting for the original unseal keys")}, nil
	}
	unsealed := ""
	if outcome.Unsealed {
		unsealed = " unsealed with the original keys and"
	}
	r.env.Printf("restored %s:%s active again (leader %s). Use the tokens of the cluster the snapshot was taken from.\n", b.Label, unsealed, outcome.LeaderAddr)
	return []source.Check{source.NewCheck("restore", true, "active again, leader %s", outcome.LeaderAddr)}, nil
}
