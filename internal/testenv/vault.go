package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// Flavor is a Vault-compatible server lifeboat supports.
type Flavor string

const (
	OpenBao   Flavor = "openbao" // primary target
	HashiCorp Flavor = "vault"
)

// Flavors is the test matrix every Vault-facing test runs over.
var Flavors = []Flavor{OpenBao, HashiCorp}

// ForEachFlavor runs fn as a subtest per flavor.
func ForEachFlavor(t *testing.T, fn func(t *testing.T, flavor Flavor)) {
	for _, f := range Flavors {
		t.Run(string(f), func(t *testing.T) { fn(t, f) })
	}
}

// VaultNode is one raft server process.
type VaultNode struct {
	Flavor  Flavor
	NodeID  string
	Addr    string // API address, http://127.0.0.1:port
	Cluster string // cluster address, https://127.0.0.1:port
	Dir     string // holds config.hcl, raft data and the log
	RaftDir string

	// Seal is an HCL seal stanza for auto-unseal; empty means Shamir.
	Seal string

	t    testing.TB
	proc *Process
}

// Vault is an initialised, unsealed raft cluster (one node unless started as a cluster).
type Vault struct {
	Flavor     Flavor
	Nodes      []*VaultNode
	RootToken  string
	UnsealKeys []string // base64 keys; Threshold of them unseal (Shamir only)
	Threshold  int
	// RecoveryKeys are the recovery keys of an auto-unsealed cluster (Seal set).
	RecoveryKeys []string
	// Seal is the HCL seal stanza every node runs with; empty means Shamir.
	Seal string
}

// VaultClusterOptions change how StartVaultClusterWith starts a cluster.
type VaultClusterOptions struct {
	// Seal is an HCL `seal "<type>" { ... }` stanza: the cluster auto-unseals with it.
	Seal string
}

// Addr is node 0's API address.
func (v *Vault) Addr() string { return v.Nodes[0].Addr }

// StartVault starts a single-node raft server, initialises it (3 key shares, threshold 2)
// and unseals it.
func StartVault(t testing.TB, flavor Flavor) *Vault {
	t.Helper()
	return StartVaultCluster(t, flavor, 1)
}

// StartVaultCluster starts n raft nodes; node 0 is initialised and becomes leader, the
// others join it and are unsealed with the same keys.
func StartVaultCluster(t testing.TB, flavor Flavor, n int) *Vault {
	t.Helper()
	return StartVaultClusterWith(t, flavor, n, VaultClusterOptions{})
}

// StartVaultClusterWith is StartVaultCluster with options (an auto-unseal seal).
func StartVaultClusterWith(t testing.TB, flavor Flavor, n int, o VaultClusterOptions) *Vault {
	t.Helper()
	v := &Vault{Flavor: flavor, Seal: o.Seal}
	for i := 0; i < n; i++ {
		node := newVaultNode(t, flavor, i)
		node.Seal = o.Seal
		v.Nodes = append(v.Nodes, node)
	}
	for i, node := range v.Nodes {
		var join string
		if i > 0 {
			join = v.Nodes[0].Addr
		}
		node.writeConfig(join)
		node.Start()
		if i == 0 {
			v.Init(node)
		}
		v.Unseal(node)
		if i == 0 {
			v.WaitActive(node)
		}
	}
	for _, node := range v.Nodes[1:] {
		v.waitJoined(node)
	}
	return v
}

func newVaultNode(t testing.TB, flavor Flavor, i int) *VaultNode {
	dir := TempDir(t, fmt.Sprintf("%s-node%d", flavor, i))
	node := &VaultNode{
		Flavor:  flavor,
		NodeID:  fmt.Sprintf("node%d", i),
		Addr:    fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
		Cluster: fmt.Sprintf("https://127.0.0.1:%d", FreePort(t)),
		Dir:     dir,
		RaftDir: filepath.Join(dir, "raft"),
		t:       t,
	}
	return node
}

func (n *VaultNode) writeConfig(joinAddr string) {
	n.t.Helper()
	if err := os.MkdirAll(n.RaftDir, 0o700); err != nil {
		n.t.Fatalf("make raft dir: %v", err)
	}
	join := ""
	if joinAddr != "" {
		join = fmt.Sprintf("\n  retry_join {\n    leader_api_addr = %q\n  }", joinAddr)
	}
	cfg := fmt.Sprintf(`disable_mlock = true
ui = false
api_addr = %q
cluster_addr = %q

storage "raft" {
  path = %q
  node_id = %q%s
}

listener "tcp" {
  address = %q
  cluster_address = %q
  tls_disable = true
}
`, n.Addr, n.Cluster, n.RaftDir, n.NodeID, join, n.Addr[len("http://"):], n.Cluster[len("https://"):]) + n.Seal
	if err := os.WriteFile(filepath.Join(n.Dir, "config.hcl"), []byte(cfg), 0o600); err != nil {
		n.t.Fatalf("write vault config: %v", err)
	}
}

// Start (re)starts the server process; it comes up sealed (or uninitialised after Wipe).
func (n *VaultNode) Start() {
	n.t.Helper()
	bin := Binary(n.t, string(n.Flavor))
	n.proc = StartProcess(n.t, n.NodeID, n.Dir, []string{"VAULT_LOG_LEVEL=info", "BAO_LOG_LEVEL=info"},
		bin, "server", "-config", filepath.Join(n.Dir, "config.hcl"))
	WaitFor(n.t, n.proc, 60*time.Second, n.NodeID+" to listen", func(ctx context.Context) error {
		_, err := n.Client("").Sys().SealStatusWithContext(ctx)
		return err
	})
}

// Stop stops the server process gracefully.
func (n *VaultNode) Stop() { n.proc.Stop() }

// Wipe deletes the node's raft data, as if its volume was lost. Stop it first.
func (n *VaultNode) Wipe() {
	n.t.Helper()
	if err := os.RemoveAll(n.RaftDir); err != nil {
		n.t.Fatalf("wipe raft data: %v", err)
	}
	if err := os.MkdirAll(n.RaftDir, 0o700); err != nil {
		n.t.Fatalf("make raft dir: %v", err)
	}
}

// Client is an API client for this node with the given token (may be empty).
func (n *VaultNode) Client(token string) *vaultapi.Client {
	n.t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = n.Addr
	cfg.MaxRetries = 0
	cfg.Timeout = 30 * time.Second
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		n.t.Fatalf("vault client: %v", err)
	}
	c.SetToken(token)
	// The test process may have VAULT_* set; this client must talk to this node only.
	c.ClearNamespace()
	return c
}

// Client is a root-token client for node 0.
func (v *Vault) Client() *vaultapi.Client { return v.Nodes[0].Client(v.RootToken) }

// Init initialises the barrier through node and records the root token and keys.
func (v *Vault) Init(node *VaultNode) {
	node.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := &vaultapi.InitRequest{SecretShares: 3, SecretThreshold: 2}
	if v.Seal != "" {
		req = &vaultapi.InitRequest{RecoveryShares: 3, RecoveryThreshold: 2}
	}
	resp, err := node.Client("").Sys().InitWithContext(ctx, req)
	if err != nil {
		node.t.Fatalf("init %s: %v", node.NodeID, err)
	}
	if v.Seal != "" {
		v.RootToken, v.RecoveryKeys = resp.RootToken, resp.RecoveryKeysB64
		return
	}
	v.RootToken = resp.RootToken
	v.UnsealKeys = resp.KeysB64
	v.Threshold = 2
}

// Unseal submits Threshold keys to node; an auto-unsealed node is waited for instead.
func (v *Vault) Unseal(node *VaultNode) {
	node.t.Helper()
	if v.Seal != "" {
		WaitUnsealed(node.t, node)
		return
	}
	UnsealWith(node.t, node, v.UnsealKeys[:v.Threshold])
}

// WaitUnsealed waits until node reports initialised and unsealed (by its own seal).
func WaitUnsealed(t testing.TB, node *VaultNode) {
	t.Helper()
	WaitFor(t, node.proc, 90*time.Second, node.NodeID+" to unseal itself", func(ctx context.Context) error {
		st, err := node.Client("").Sys().SealStatusWithContext(ctx)
		if err != nil {
			return err
		}
		if !st.Initialized || st.Sealed {
			return fmt.Errorf("initialized=%v sealed=%v", st.Initialized, st.Sealed)
		}
		return nil
	})
}

// UnsealWith submits keys to node until it reports unsealed.
func UnsealWith(t testing.TB, node *VaultNode, keys []string) {
	t.Helper()
	WaitFor(t, node.proc, 90*time.Second, node.NodeID+" to unseal", func(ctx context.Context) error {
		c := node.Client("")
		st, err := c.Sys().SealStatusWithContext(ctx)
		if err != nil {
			return err
		}
		if !st.Initialized {
			return errors.New("not initialised yet (joining)")
		}
		for _, k := range keys {
			if st, err = c.Sys().UnsealWithContext(ctx, k); err != nil {
				return err
			}
			if !st.Sealed {
				return nil
			}
		}
		if st.Sealed {
			return errors.New("still sealed")
		}
		return nil
	})
}

// WaitActive waits until node is the active (leader) node and serves requests.
func (v *Vault) WaitActive(node *VaultNode) {
	node.t.Helper()
	WaitFor(node.t, node.proc, 90*time.Second, node.NodeID+" to become active", func(ctx context.Context) error {
		l, err := node.Client(v.RootToken).Sys().LeaderWithContext(ctx)
		if err != nil {
			return err
		}
		if !l.IsSelf {
			return fmt.Errorf("not leader yet (leader %q)", l.LeaderAddress)
		}
		_, err = node.Client(v.RootToken).Auth().Token().LookupSelfWithContext(ctx)
		return err
	})
}

func (v *Vault) waitJoined(node *VaultNode) {
	node.t.Helper()
	WaitFor(node.t, node.proc, 90*time.Second, node.NodeID+" to join as standby", func(ctx context.Context) error {
		h, err := node.Client("").Sys().HealthWithContext(ctx)
		if err != nil {
			return err
		}
		if h.Sealed || !h.Standby {
			return fmt.Errorf("sealed=%v standby=%v", h.Sealed, h.Standby)
		}
		l, err := node.Client(v.RootToken).Sys().LeaderWithContext(ctx)
		if err != nil {
			return err
		}
		if l.LeaderAddress != v.Nodes[0].Addr {
			return fmt.Errorf("leader is %q", l.LeaderAddress)
		}
		ids, err := v.RaftServers(ctx)
		if err != nil {
			return err
		}
		if !slices.Contains(ids, node.NodeID) {
			return fmt.Errorf("raft configuration lists %v", ids)
		}
		return nil
	})
}

// RaftServers lists the node ids in the raft configuration, as the leader reports it.
func (v *Vault) RaftServers(ctx context.Context) ([]string, error) {
	sec, err := v.Nodes[0].Client(v.RootToken).Logical().ReadWithContext(ctx, "sys/storage/raft/configuration")
	if err != nil {
		return nil, err
	}
	cfg, _ := sec.Data["config"].(map[string]any)
	servers, _ := cfg["servers"].([]any)
	var ids []string
	for _, s := range servers {
		if m, ok := s.(map[string]any); ok {
			ids = append(ids, fmt.Sprint(m["node_id"]))
		}
	}
	return ids, nil
}

// Leader returns the node that currently reports itself leader.
func (v *Vault) Leader(t testing.TB) *VaultNode {
	t.Helper()
	for _, n := range v.Nodes {
		if ok, _ := n.proc.Exited(); ok {
			continue
		}
		l, err := n.Client(v.RootToken).Sys().Leader()
		if err == nil && l.IsSelf {
			return n
		}
	}
	t.Fatalf("no %s node reports itself leader", v.Flavor)
	return nil
}

// RaftVoters returns the raft configuration's voters (node ids), as the leader reports it
// to token.
func (v *Vault) RaftVoters(ctx context.Context, token string) ([]string, error) {
	c := v.Nodes[0].Client(token)
	if l := v.leaderNode(ctx); l != nil {
		c = l.Client(token)
	}
	sec, err := c.Logical().ReadWithContext(ctx, "sys/storage/raft/configuration")
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, errors.New("empty raft configuration")
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

func (v *Vault) leaderNode(ctx context.Context) *VaultNode {
	for _, n := range v.Nodes {
		if l, err := n.Client("").Sys().LeaderWithContext(ctx); err == nil && l.IsSelf {
			return n
		}
	}
	return nil
}

// WaitVoters waits until autopilot has promoted every node to a raft voter: new nodes
// join as non-voters for a stabilisation period, and until then losing node 0 loses
// the quorum.
func (v *Vault) WaitVoters(t testing.TB) {
	t.Helper()
	WaitFor(t, v.Nodes[0].proc, 120*time.Second, "every node to be a raft voter", func(ctx context.Context) error {
		voters, err := v.RaftVoters(ctx, v.RootToken)
		if err != nil {
			return err
		}
		if len(voters) < len(v.Nodes) {
			return fmt.Errorf("%d of %d nodes are voters", len(voters), len(v.Nodes))
		}
		return nil
	})
}

// LogPath is the server's log file (stdout and stderr).
func (n *VaultNode) LogPath() string { return n.proc.LogPath }

// TransitServer is a second server whose transit engine auto-unseals a cluster.
type TransitServer struct {
	Addr    string
	Root    string
	Mount   string // "transit"
	KeyName string // the key the returned Token may use
	// Token may encrypt and decrypt with KeyName only.
	Token string
	proc  *Process
}

// StartTransitServer starts a dev-mode server (in memory, unsealed) of flavor with the
// transit engine enabled and a key "autounseal", and a token limited to encrypting and
// decrypting with it, as a Transit seal needs.
func StartTransitServer(t testing.TB, flavor Flavor) *TransitServer {
	t.Helper()
	dir := TempDir(t, string(flavor)+"-transit")
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	ts := &TransitServer{Addr: "http://" + addr, Root: "transit-root", Mount: "transit"}
	ts.proc = StartProcess(t, "transit", dir, nil, Binary(t, string(flavor)), "server", "-dev",
		"-dev-root-token-id="+ts.Root, "-dev-listen-address="+addr, "-dev-no-store-token")
	WaitFor(t, ts.proc, 60*time.Second, "the transit server to serve", func(ctx context.Context) error {
		_, err := ts.Client(ts.Root).Auth().Token().LookupSelfWithContext(ctx)
		return err
	})
	c := ts.Client(ts.Root)
	if err := c.Sys().Mount(ts.Mount, &vaultapi.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("enable transit: %v", err)
	}
	ts.KeyName = ts.NewKey(t, "autounseal")
	ts.Token = ts.TokenFor(t, ts.KeyName)
	return ts
}

// Client is an API client for the transit server.
func (ts *TransitServer) Client(token string) *vaultapi.Client {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = ts.Addr
	cfg.MaxRetries = 0
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		panic(err)
	}
	c.SetToken(token)
	c.ClearNamespace()
	return c
}

// NewKey creates a transit key and returns its name.
func (ts *TransitServer) NewKey(t testing.TB, name string) string {
	t.Helper()
	if _, err := ts.Client(ts.Root).Logical().Write(ts.Mount+"/keys/"+name, nil); err != nil {
		t.Fatalf("create transit key %s: %v", name, err)
	}
	return name
}

// TokenFor returns a periodic token that may encrypt and decrypt with key only.
func (ts *TransitServer) TokenFor(t testing.TB, key string) string {
	t.Helper()
	c := ts.Client(ts.Root)
	policy := fmt.Sprintf("path %q { capabilities = [\"update\"] }\npath %q { capabilities = [\"update\"] }\n",
		ts.Mount+"/encrypt/"+key, ts.Mount+"/decrypt/"+key)
	if err := c.Sys().PutPolicy("autounseal-"+key, policy); err != nil {
		t.Fatalf("transit policy: %v", err)
	}
	sec, err := c.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"autounseal-" + key}, Period: "24h", NoParent: true})
	if err != nil {
		t.Fatalf("transit token: %v", err)
	}
	return sec.Auth.ClientToken
}

// Seal is the HCL seal stanza for key with token inline (test servers only; lifeboat's
// own configuration takes the token from a file).
func (ts *TransitServer) Seal(key, token string) string {
	return fmt.Sprintf("seal \"transit\" {\n  address = %q\n  token = %q\n  mount_path = %q\n  key_name = %q\n}\n", ts.Addr, token, ts.Mount+"/", key)
}

// Stop stops the transit server (its keys are lost: it runs in memory).
func (ts *TransitServer) Stop() { ts.proc.Stop() }
