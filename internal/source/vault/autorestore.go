package vault

import (
	"context"
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// AutoRestoreOptions are the choices of `lifeboat vault auto-restore`.
type AutoRestoreOptions struct {
	// Node is the API address to initialise and restore into; "" is FirstNode.
	Node string
	// Keys are the original unseal keys.
	Keys UnsealKeys
	// RequireAll refuses unless every configured node answers.
	RequireAll bool
}

// NewAutoRestore prepares the restore of a wiped cluster: when no node is initialised,
// node 0 is initialised with temporary keys, the backup is force-restored into it and the
// result is unsealed with the original keys.
func NewAutoRestore(src *config.Source, o AutoRestoreOptions, env source.Env) (source.Restore, error) {
	if src.Vault == nil {
		return nil, fmt.Errorf("%w: source %s is not a vault source", source.ErrUsage, src.Name)
	}
	if o.Keys.API == nil && src.Restore != nil {
		o.Keys.API = src.Restore.Kubernetes
	}
	if o.Node == "" {
		o.Node = FirstNode(src.Vault)
	}
	return &autoRestore{src: src, opts: o, env: env}, nil
}

type autoRestore struct {
	src  *config.Source
	opts AutoRestoreOptions
	env  source.Env
	keys []string
}

// Prepare refuses unless every node is uninitialised and none that may be running is
// unreachable, and the unseal keys can be read: only then is a backup even looked for.
func (r *autoRestore) Prepare(ctx context.Context) error {
	client, err := ClientFor(r.src)
	if err != nil {
		return fmt.Errorf("%w: %w", source.ErrUsage, err)
	}
	states := client.NodeStates(ctx)
	for _, st := range states {
		if st.Initialized {
			r.env.Printf("vault at %s is initialised: nothing to do\n", st.Address)
			return source.ErrNothingToDo
		}
	}
	for _, st := range states {
		r.env.Printf("vault at %s: %s\n", st.Address, st.Describe())
	}
	for _, st := range states {
		// A node that may be running but does not answer could hold the cluster's data:
		// initialising node 0 now could split the cluster in two.
		if !st.Reachable && (!st.NotRunning || r.opts.RequireAll) {
			return fmt.Errorf("refusing to initialise Vault: node %s is %s; it may hold the cluster's data. Retry when every node answers (or remove it from vault.nodes if it is gone)", st.Address, st.Describe())
		}
	}
	keys, err := r.opts.Keys.Load(ctx)
	if err != nil {
		return fmt.Errorf("refusing to initialise Vault: %w", err)
	}
	r.keys = keys
	return nil
}

func (r *autoRestore) Check(context.Context, *source.Backup) error { return nil }

func (r *autoRestore) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	r.env.Printf("initialising %s with a temporary key (kept in memory only) and restoring %s ...\n", r.opts.Node, b.Label)
	body, err := b.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	o, err := OptionsFor(r.src)
	if err != nil {
		return nil, err
	}
	o.Address, o.Nodes = r.opts.Node, nil
	outcome, err := RestoreIntoUninitialised(ctx, o, body, r.keys)
	if err != nil {
		return nil, fmt.Errorf("auto-restore of %s failed: %w", r.opts.Node, err)
	}
	r.env.Printf("restored %s into %s: unsealed with the original keys, active (leader %s). Unseal the other nodes with the original keys once they rejoin.\n",
		b.Label, r.opts.Node, outcome.LeaderAddr)
	return []source.Check{source.NewCheck("restore", true, "node %s unsealed with the original keys, leader %s", r.opts.Node, outcome.LeaderAddr)}, nil
}
