package vault

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// joinGrace is how long a wiped node may stay uninitialised after the leader is back
// before lifeboat asks it to join: a node with raft retry_join joins by itself within
// seconds, and a second join request while it does would only race with it.
const joinGrace = 15 * time.Second

// rejoin brings the configured nodes other than leader back into the restored cluster:
// a node that stays uninitialised is asked to join the leader (sys/storage/raft/join,
// for nodes without retry_join), a Shamir-sealed one is unsealed with keys (an
// auto-unsealed one unseals itself), and then every node must be a raft voter (read
// with c's own login). It returns one check per node and one for the raft voters; it
// gives up at deadline.
func (c *Client) rejoin(ctx context.Context, env source.Env, p rejoinPlan) []source.Check {
	leader, others, keys, caCert, deadline := p.leader, p.others, p.keys, p.caCert, p.deadline
	pending := slices.Clone(others)
	asked := map[string]time.Time{}
	start := time.Now()
	last := map[string]string{}
	restarted := false
	for len(pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		var still []string
		stale := false
		for _, addr := range pending {
			done, what := c.rejoinStep(ctx, env, leader, addr, keys, caCert, start, asked)
			if done {
				env.Printf("  %s: unsealed and joined\n", addr)
				continue
			}
			if what == staleLeaderKeys {
				stale = true
			}
			if last[addr] != what {
				env.Printf("  %s: %s\n", addr, what)
				last[addr] = what
			}
			still = append(still, addr)
		}
		pending = still
		if stale && p.restartLeader != nil && !restarted {
			restarted = true
			env.Printf("  restarting node 0 (%s) so that it loads the restored raft TLS keys: %s\n", leader, p.restartLeader.what)
			if err := p.restartLeader.restart(ctx); err != nil {
				env.Printf("  could not restart node 0: %v\n", err)
			}
		}
		if len(pending) > 0 {
			sleep(ctx, time.Second)
		}
	}
	var checks []source.Check
	for _, addr := range others {
		if slices.Contains(pending, addr) {
			checks = append(checks, source.NewCheck("node "+addr, false, "did not come back: %s", last[addr]))
			continue
		}
		checks = append(checks, source.NewCheck("node "+addr, true, "unsealed and joined"))
	}
	if len(pending) > 0 {
		return checks
	}
	return append(checks, c.waitVoters(ctx, env, len(others)+1, deadline))
}

// rejoinPlan is what rejoin needs: the restored leader, the nodes to bring back, the
// original unseal keys (none for an auto-unseal seal), the CA joining nodes trust for the
// leader, when to give up, and how to restart the leader's server process, if lifeboat
// may (nil: it only says so).
type rejoinPlan struct {
	leader        string
	others        []string
	keys          []string
	caCert        string
	deadline      time.Time
	restartLeader *restarter
}

// restarter restarts node 0's server process; what says how, for the output.
type restarter struct {
	what    string
	restart func(context.Context) error
}

// staleLeaderKeys is what rejoinStep reports for an auto-unsealed node that joined but
// cannot follow node 0, because node 0 still uses the raft TLS keys of the temporary
// initialisation (see rejoinStep).
const staleLeaderKeys = "joined but still sealed: its seal did not unseal it. If node 0's log shows `tls: unrecognized name` for it, " +
	"node 0 still uses the raft TLS keys of the temporary initialisation: restart node 0's server process (it unseals itself with its seal; " +
	"in Kubernetes delete its pod, or run auto-restore with --restart-pod) and the joined nodes catch up by themselves"

// rejoinStep moves one node one step on; it reports whether the node is unsealed (and so
// has joined) and else what it is waiting for.
func (c *Client) rejoinStep(ctx context.Context, env source.Env, leader, addr string, keys []string, caCert string, start time.Time, asked map[string]time.Time) (bool, string) {
	api, err := c.at(addr)
	if err != nil {
		return false, err.Error()
	}
	st, err := api.Sys().SealStatusWithContext(ctx)
	switch {
	case err != nil:
		return false, "does not answer yet (" + err.Error() + ")"
	case !st.Initialized:
		// Not joined yet: give retry_join its chance, then ask it to join, and again
		// every half minute.
		if time.Since(start) < joinGrace || time.Since(asked[addr]) < 2*joinGrace {
			return false, "uninitialised, waiting for it to join " + leader
		}
		asked[addr] = time.Now()
		req := &vaultapi.RaftJoinRequest{LeaderAPIAddr: leader, LeaderCACert: caCert}
		if _, err := api.Sys().RaftJoinWithContext(ctx, req); err != nil {
			return false, "asked it to join " + leader + ": " + explain(addr, "join", err).Error()
		}
		env.Printf("  %s: asked to join %s (sys/storage/raft/join)\n", addr, leader)
		return false, "asked to join " + leader
	case !st.Sealed:
		return true, ""
	case autoUnseal(st.Type) && time.Since(start) > 2*joinGrace:
		// After a restore the server reloads the raft TLS keyring (checkRaftTLSKeyUpgrades
		// in vault/raft.go), but the stream layer skips an update whose term equals the one
		// it holds (setTLSKeyring's "fast path a noop update" in
		// physical/raft/streamlayer.go, the same in OpenBao 2.4 and Vault 1.19). The
		// temporary initialisation's keyring has term 1, and so does the snapshot's when the
		// cluster never rotated its raft TLS key (rotation runs 24h after the key's
		// creation, raftTLSRotationPeriod): then node 0 keeps the temporary keys, a joined
		// node gets the restored ones, node 0 refuses it ("tls: unrecognized name") and it
		// never receives the data. A Shamir node 0 seals and is unsealed after the restore,
		// which sets the keys up afresh; an auto-unsealed one only when its process restarts.
		return false, staleLeaderKeys
	case autoUnseal(st.Type):
		return false, "joined, waiting for its " + st.Type + " seal to unseal it"
	case len(keys) == 0:
		return false, "joined and sealed; no unseal keys given"
	}
	if err := unseal(ctx, api, keys); err != nil {
		_, _ = api.Sys().ResetUnsealProcessWithContext(ctx)
		return false, "unseal: " + err.Error()
	}
	return true, ""
}

// waitVoters waits until the raft configuration lists want voters: autopilot promotes a
// new node only after it has been healthy for a while (server_stabilization_time).
func (c *Client) waitVoters(ctx context.Context, env source.Env, want int, deadline time.Time) source.Check {
	// The snapshot's tokens are valid again, so the source's own login works, when it
	// has one: the chart's auto-restore sidecar carries no credential of lifeboat's.
	if err := c.Login(ctx); err != nil {
		env.Printf("  cannot log in to confirm the raft voters (%v): every node is unsealed; check the voters with `bao operator raft list-peers`\n", err)
		return source.NewCheck("raft voters", true, "not confirmed: no login for the source (%v)", err)
	}
	var got []string
	var err error
	for {
		got, err = c.RaftVoters(ctx)
		if err == nil && len(got) >= want {
			return source.NewCheck("raft voters", true, "%d voters: %s", len(got), strings.Join(got, ", "))
		}
		if err != nil && strings.Contains(err.Error(), "permission denied") {
			env.Printf("  cannot read the raft configuration to confirm the voters (%v): check with `bao operator raft list-peers`, or allow the source's token to read sys/storage/raft/configuration\n", err)
			return source.NewCheck("raft voters", true, "not confirmed: the source's token may not read sys/storage/raft/configuration")
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			break
		}
		sleep(ctx, 2*time.Second)
	}
	if err != nil {
		return source.NewCheck("raft voters", false, "could not read the raft configuration: %v", err)
	}
	return source.NewCheck("raft voters", false, "%d of %d nodes are voters (%s); autopilot promotes a healthy node after server_stabilization_time: check `bao operator raft list-peers` and `bao operator raft autopilot state`", len(got), want, strings.Join(got, ", "))
}

// RaftVoters lists the node ids of the raft configuration's voters, read from the leader.
func (c *Client) RaftVoters(ctx context.Context) ([]string, error) {
	api, err := c.LeaderAPI(ctx)
	if err != nil {
		return nil, err
	}
	sec, err := api.Logical().ReadWithContext(ctx, "sys/storage/raft/configuration")
	if err != nil {
		return nil, explain(api.Address(), "read the raft configuration", err)
	}
	if sec == nil {
		return nil, fmt.Errorf("vault at %s returned no raft configuration", api.Address())
	}
	cfg, _ := sec.Data["config"].(map[string]any)
	servers, _ := cfg["servers"].([]any)
	var ids []string
	for _, s := range servers {
		if m, ok := s.(map[string]any); ok && m["voter"] == true {
			ids = append(ids, fmt.Sprint(m["node_id"]))
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func readCA(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("vault.caCert (given to joining nodes as leader_ca_cert): %w", err)
	}
	return string(data), nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
