package vault

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// AutoRestoreOptions are the choices of `lifeboat vault auto-restore`.
type AutoRestoreOptions struct {
	// Node is the API address to initialise and restore into; "" is FirstNode.
	Node string
	// Keys are the original unseal keys (Shamir seals; an auto-unsealed cluster needs none).
	Keys UnsealKeys
	// RequireAll refuses unless every configured node answers.
	RequireAll bool
	// JoinTimeout bounds the wait for the other nodes to join, unseal and become raft
	// voters; 0 is 10 minutes.
	JoinTimeout time.Duration
	// RestartPod is node 0's pod, "namespace/name": when an auto-unsealed node 0 keeps
	// the raft TLS keys of the temporary initialisation (see rejoinStep), lifeboat deletes
	// it once through the Kubernetes API so that its StatefulSet starts it again on the
	// same volume. "" only says what to do.
	RestartPod string
}

// NewAutoRestore prepares the restore of a wiped cluster: when no node is initialised,
// node 0 is initialised with temporary keys (or recovery shares, for an auto-unseal seal),
// the backup is force-restored into it and the result is unsealed with the original keys
// (or by its own seal). The other configured nodes then join it (by retry_join, or asked
// through sys/storage/raft/join), are unsealed the same way and must become raft voters.
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
	if o.RestartPod != "" {
		if ns, name, ok := strings.Cut(o.RestartPod, "/"); !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("%w: --restart-pod %q: use <namespace>/<pod>, e.g. vault/vault-0", source.ErrUsage, o.RestartPod)
		}
	}
	return &autoRestore{src: src, opts: o, env: env}, nil
}

type autoRestore struct {
	src  *config.Source
	opts AutoRestoreOptions
	env  source.Env
	keys []string
	// sealType is what node 0 reports: "shamir" or an auto-unseal seal.
	sealType string
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
	for _, st := range append(states, r.targetState(ctx, states)) {
		if strings.TrimRight(st.Address, "/") == strings.TrimRight(r.opts.Node, "/") && st.Reachable {
			r.sealType = st.SealType
			break
		}
	}
	if autoUnseal(r.sealType) {
		r.env.Printf("vault at %s auto-unseals with its %s seal: no unseal keys needed\n", r.opts.Node, r.sealType)
		return nil
	}
	keys, err := r.opts.Keys.Load(ctx)
	if err != nil {
		return fmt.Errorf("refusing to initialise Vault: %w", err)
	}
	r.keys = keys
	return nil
}

// targetState is the state of the node to restore into, when --node is not one of the
// configured addresses.
func (r *autoRestore) targetState(ctx context.Context, states []NodeState) NodeState {
	for _, st := range states {
		if strings.TrimRight(st.Address, "/") == strings.TrimRight(r.opts.Node, "/") {
			return st
		}
	}
	o, err := OptionsFor(r.src)
	if err != nil {
		return NodeState{}
	}
	o.Address, o.Nodes = r.opts.Node, nil
	c, err := New(o)
	if err != nil {
		return NodeState{}
	}
	return c.NodeStates(ctx)[0]
}

func (r *autoRestore) Check(context.Context, *source.Backup) error { return nil }

func (r *autoRestore) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	what := "a temporary key"
	if autoUnseal(r.sealType) {
		what = "temporary recovery keys"
	}
	r.env.Printf("initialising %s with %s (kept in memory only) and restoring %s ...\n", r.opts.Node, what, b.Label)
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
	how := "unsealed with the original keys"
	if autoUnseal(r.sealType) {
		how = "unsealed by its " + r.sealType + " seal"
	}
	r.env.Printf("restored %s into %s: %s, active (leader %s)\n", b.Label, r.opts.Node, how, outcome.LeaderAddr)
	checks := []source.Check{source.NewCheck("restore", true, "node %s %s, leader %s", r.opts.Node, how, outcome.LeaderAddr)}
	client, err := ClientFor(r.src)
	if err != nil {
		return checks, err
	}
	// vault.nodes are the individual nodes; vault.address may be a service in front of
	// them, so it is no node of its own.
	var others []string
	for _, addr := range r.src.Vault.Nodes {
		if strings.TrimRight(addr, "/") != strings.TrimRight(r.opts.Node, "/") {
			others = append(others, addr)
		}
	}
	if len(others) == 0 {
		return checks, nil
	}
	ca, err := readCA(r.src.Vault.CACert)
	if err != nil {
		return checks, err
	}
	timeout := r.opts.JoinTimeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	r.env.Printf("bringing the other %d nodes back: they join %s and are unsealed ...\n", len(others), r.opts.Node)
	plan := rejoinPlan{leader: r.opts.Node, others: others, keys: r.keys, caCert: ca, deadline: time.Now().Add(timeout)}
	if r.opts.RestartPod != "" && autoUnseal(r.sealType) {
		plan.restartLeader = r.podRestarter()
	}
	checks = append(checks, client.rejoin(ctx, r.env, plan)...)
	if source.FailedChecks(checks) == nil {
		r.env.Printf("every node is back: unsealed and a raft voter\n")
	}
	return checks, nil
}

// podRestarter deletes node 0's pod (RestartPod) through the Kubernetes API reached as
// for the unseal keys (restore.kubernetes, else in-cluster). When lifeboat runs in that
// pod (the chart's sidecar) it ends with it; the sidecar of the new pod finds node 0
// initialised and does nothing, and the joined nodes catch up by themselves.
func (r *autoRestore) podRestarter() *restarter {
	ns, name, _ := strings.Cut(r.opts.RestartPod, "/")
	return &restarter{
		what: "deleting pod " + r.opts.RestartPod + " (its StatefulSet starts it again on the same volume)",
		restart: func(ctx context.Context) error {
			cfg, err := kube.FromConfig(r.opts.Keys.API)
			if err != nil {
				return err
			}
			client, err := kube.New(cfg)
			if err != nil {
				return err
			}
			return client.DeletePod(ctx, ns, name)
		},
	}
}
