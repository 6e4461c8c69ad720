package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// vaultSetup is a real raft Vault/OpenBao, a MinIO bucket, and a lifeboat config that backs
// the Vault up to a local directory and to MinIO.
type vaultSetup struct {
	vault     *testenv.Vault
	minio     *testenv.MinIO
	dir       string
	localDir  string
	config    string
	tokenFile string
	keysFile  string // the original unseal keys, one per line
	env       []string
}

func newVaultSetup(t *testing.T, flavor testenv.Flavor, extraConfig string) *vaultSetup {
	t.Helper()
	return newVaultSetupFor(t, testenv.StartVault(t, flavor), extraConfig)
}

// newVaultSetupFor is newVaultSetup for a cluster the test started itself (several
// nodes, an auto-unseal seal). With several nodes the config lists them all.
func newVaultSetupFor(t *testing.T, v *testenv.Vault, extraConfig string) *vaultSetup {
	t.Helper()
	s := &vaultSetup{vault: v, minio: testenv.StartMinIO(t), dir: t.TempDir()}
	s.minio.MakeBucket("backups")
	s.localDir = filepath.Join(s.dir, "backups")
	s.tokenFile = writeFile(t, filepath.Join(s.dir, "token"), s.vault.RootToken+"\n")
	if len(s.vault.UnsealKeys) > 0 {
		s.keysFile = writeFile(t, filepath.Join(s.dir, "unseal-keys"), strings.Join(s.vault.UnsealKeys, "\n")+"\n")
	}
	address := s.vault.Addr()
	if len(s.vault.Nodes) > 1 {
		var nodes []string
		for _, n := range s.vault.Nodes {
			nodes = append(nodes, n.Addr)
		}
		address += "\n      nodes: [" + strings.Join(nodes, ", ") + "]"
	}
	s.env = []string{"TEST_S3_ACCESS_KEY=" + s.minio.AccessKey, "TEST_S3_SECRET_KEY=" + s.minio.SecretKey}
	s.config = writeFile(t, filepath.Join(s.dir, "lifeboat.yaml"), fmt.Sprintf(`
sources:
  - name: vault
    kind: vault
    vault:
      address: %s
      auth:
        token: {file: %s}
destinations:
  - name: local
    kind: file
    file: {path: %s}
  - name: minio
    kind: s3
    prefix: lifeboat
    s3:
      endpoint: %s
      bucket: backups
      pathStyle: true
      insecure: true
      partSizeMiB: 5
      accessKeyID: {env: TEST_S3_ACCESS_KEY}
      secretAccessKey: {env: TEST_S3_SECRET_KEY}
%s`, address, s.tokenFile, s.localDir, s.minio.Endpoint, extraConfig))
	return s
}

func (s *vaultSetup) lifeboat(t *testing.T, want int, args ...string) run {
	t.Helper()
	return mustRun(t, want, s.env, append([]string{"--config", s.config}, args...)...)
}

// seed writes what a restore must bring back: KV secrets, a policy and an auth mount.
func seed(t *testing.T, c *vaultapi.Client) map[string]string {
	t.Helper()
	if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"app/db": "s3cr3t-db", "app/api": "api-key-42", "team/ci": "ci-token"}
	for path, v := range secrets {
		putKV(t, c, path, v)
	}
	if err := c.Sys().PutPolicy("app-read", `path "secret/data/app/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().EnableAuthWithOptions("ci-approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	return secrets
}

// checkSeeded asserts every seeded secret, the policy and the auth mount are present.
func checkSeeded(t *testing.T, c *vaultapi.Client, secrets map[string]string) {
	t.Helper()
	ctx := context.Background()
	for path, want := range secrets {
		got, err := c.KVv2("secret").Get(ctx, path)
		if err != nil {
			t.Fatalf("secret %s after restore: %v", path, err)
		}
		if got.Data["value"] != want {
			t.Fatalf("secret %s = %v, want %q", path, got.Data["value"], want)
		}
	}
	policy, err := c.Sys().GetPolicy("app-read")
	if err != nil || !strings.Contains(policy, "secret/data/app/*") {
		t.Fatalf("policy app-read after restore: %q, %v", policy, err)
	}
	auths, err := c.Sys().ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := auths["ci-approle/"]; !ok {
		t.Fatalf("auth mount ci-approle/ missing after restore: %v", auths)
	}
}

// grow writes about mb MiB of incompressible secrets so a snapshot takes a while to stream.
func grow(t *testing.T, c *vaultapi.Client, mb int) {
	t.Helper()
	if err := c.Sys().Mount("bulk", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 192<<10)
	for i := 0; i < mb*1024/256; i++ {
		_, _ = rand.Read(buf)
		if _, err := c.Logical().Write(fmt.Sprintf("bulk/blob-%04d", i), map[string]any{"v": base64.StdEncoding.EncodeToString(buf)}); err != nil {
			t.Fatal(err)
		}
	}
}

// wipe stops node 0, deletes its raft data, starts it uninitialised, initialises it anew
// and unseals it with the NEW keys: the state after a lost volume and a fresh install.
// It returns the new root token's file.
func (s *vaultSetup) wipe(t *testing.T) string {
	t.Helper()
	node := s.vault.Nodes[0]
	node.Stop()
	node.Wipe()
	node.Start()
	st, err := node.Client("").Sys().SealStatus()
	if err != nil || st.Initialized {
		t.Fatalf("after wipe: initialised=%v err=%v", st != nil && st.Initialized, err)
	}
	fresh := &testenv.Vault{Flavor: s.vault.Flavor, Nodes: s.vault.Nodes}
	fresh.Init(node)
	fresh.Unseal(node)
	fresh.WaitActive(node)
	if _, err := node.Client(fresh.RootToken).KVv2("secret").Get(context.Background(), "app/db"); err == nil {
		t.Fatal("wiped vault still has the secret")
	}
	return writeFile(t, filepath.Join(s.dir, "new-root-token"), fresh.RootToken)
}

// putKV writes a KV v2 secret, retrying while a fresh mount finishes its upgrade to a
// versioned backend (it answers 400 "Upgrading from non-versioned to versioned data").
func putKV(t *testing.T, c *vaultapi.Client, path, value string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.KVv2("secret").Put(context.Background(), path, map[string]any{"value": value})
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "Upgrading from non-versioned to versioned") || time.Now().After(deadline) {
			t.Fatalf("write secret %s: %v", path, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
