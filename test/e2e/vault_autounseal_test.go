package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// sealDrill is the drill block of a source whose scratch servers use the seal given as
// the YAML body of drill.vault.seal (type, parameters, secrets), indented under it.
func sealDrill(bin, seal string) string {
	return fmt.Sprintf(`    drill:
      vault:
        binary: %s
        seal:
%s        mounts: [secret/]
        secrets: [secret/data/app/db]
    vault:
`, bin, seal)
}

// drillAndRestoreWithSeal is the auto-unseal story on a cluster v sealed by sealType:
// drill.vault.seal (YAML, see sealDrill) opens the backup in a scratch server and the drill
// passes; after breakSeal points drill.vault.seal at a key that cannot open the snapshot,
// the drill fails with the server's reason (wrongWants) and a next step, and the live
// cluster is untouched; a restore after data loss needs no keys.
func drillAndRestoreWithSeal(t *testing.T, v *testenv.Vault, sealType, seal string, breakSeal func(s *vaultSetup), wrongWants ...string) {
	t.Helper()
	s := newVaultSetupFor(t, v, "")
	writeFile(t, s.config, strings.Replace(readFile(t, s.config), "    vault:\n", sealDrill(testenv.Binary(t, string(v.Flavor)), seal), 1))
	secrets := seed(t, v.Client())
	s.lifeboat(t, 0, "backup", "vault")

	r := s.lifeboat(t, 0, "drill", "vault")
	for _, want := range []string{"ok     mount secret/", "ok     secret secret/data/app/db", "passed"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("drill output lacks %q:\n%s", want, r)
		}
	}

	breakSeal(s)
	r = s.lifeboat(t, 1, "drill", "vault", "--no-record")
	t.Logf("drill with the wrong seal:\n%s", r)
	out := r.stdout + r.stderr
	for _, want := range append([]string{sealType + " seal did not unseal it", "check drill.vault.seal", "the server said:", "failed to get stored keys"}, wrongWants...) {
		if !strings.Contains(out, want) {
			t.Fatalf("wrong-seal drill output lacks %q:\n%s", want, r)
		}
	}
	st, err := v.Nodes[0].Client("").Sys().SealStatus()
	if err != nil || st.Sealed {
		t.Fatalf("live cluster after the failed drill: %+v %v", st, err)
	}
	checkSeeded(t, v.Client(), secrets)

	// Data loss, then a restore with no keys.
	if err := v.Client().KVv2("secret").DeleteMetadata(context.Background(), "app/db"); err != nil {
		t.Fatal(err)
	}
	r = s.lifeboat(t, 0, "restore", "vault", "--snapshot", "latest")
	if !strings.Contains(r.stdout, "active again") {
		t.Fatalf("restore output:\n%s", r)
	}
	checkSeeded(t, v.Client(), secrets)
}

// A cluster auto-unsealed by a Transit engine of another server is drilled with the same
// seal and no unseal keys; another Transit key cannot open the snapshot.
func TestVaultTransitSealDrillAndRestore(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		ts := testenv.StartTransitServer(t, testenv.OpenBao)
		v := testenv.StartVaultClusterWith(t, flavor, 1, testenv.VaultClusterOptions{Seal: ts.Seal(ts.KeyName, ts.Token)})
		tokenFile := writeFile(t, filepath.Join(t.TempDir(), "transit-token"), ts.Token+"\n")
		seal := fmt.Sprintf("          type: transit\n          parameters: {address: %q, mount_path: %s/, key_name: %s}\n          secrets: {token: {file: %s}}\n",
			ts.Addr, ts.Mount, ts.KeyName, tokenFile)
		other := ts.NewKey(t, "other")
		drillAndRestoreWithSeal(t, v, "transit", seal, func(s *vaultSetup) {
			writeFile(t, s.config, strings.Replace(readFile(t, s.config), "key_name: "+ts.KeyName+"}", "key_name: "+other+"}", 1))
			writeFile(t, tokenFile, ts.TokenFor(t, other)+"\n")
		}, "transit/decrypt/"+other)
	})
}

// A cluster auto-unsealed by AWS KMS (local-kms, an emulator of the KMS API, reached
// through the seal's endpoint parameter): the same story, with the credentials in files.
func TestVaultAWSKMSSealDrillAndRestore(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		kms := testenv.StartLocalKMS(t)
		v := testenv.StartVaultClusterWith(t, flavor, 1, testenv.VaultClusterOptions{Seal: kms.Seal(kms.KeyID)})
		dir := t.TempDir()
		seal := fmt.Sprintf("          type: awskms\n          parameters: {region: %s, endpoint: %q, kms_key_id: %s}\n          secrets: {access_key: {file: %s}, secret_key: {file: %s}}\n",
			kms.Region, kms.Endpoint, kms.KeyID,
			writeFile(t, filepath.Join(dir, "access-key"), kms.AccessKey+"\n"),
			writeFile(t, filepath.Join(dir, "secret-key"), kms.SecretKey+"\n"))
		// KMS finds the key of a ciphertext in the ciphertext itself, so another key id of
		// the same KMS still decrypts: the seal that cannot open the snapshot is another
		// KMS (account or region) without that key.
		elsewhere := testenv.StartLocalKMS(t)
		drillAndRestoreWithSeal(t, v, "awskms", seal, func(s *vaultSetup) {
			writeFile(t, s.config, strings.Replace(readFile(t, s.config), kms.Endpoint, elsewhere.Endpoint, 1))
		})
	})
}

// wipeAll stops every node, deletes its raft data and starts it again uninitialised, as
// if the whole cluster lost its volumes.
func wipeAll(v *testenv.Vault) {
	for _, n := range v.Nodes {
		n.Stop()
	}
	for _, n := range v.Nodes {
		n.Wipe()
		n.Start()
	}
}

// checkAllBack asserts that every node is unsealed and a raft voter.
func checkAllBack(t *testing.T, v *testenv.Vault) {
	t.Helper()
	ctx := context.Background()
	for _, n := range v.Nodes {
		st, err := n.Client("").Sys().SealStatusWithContext(ctx)
		if err != nil || !st.Initialized || st.Sealed {
			t.Fatalf("%s after auto-restore: %+v %v", n.NodeID, st, err)
		}
	}
	voters, err := v.RaftVoters(ctx, v.RootToken)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"node0", "node1", "node2"}; strings.Join(voters, ",") != strings.Join(want, ",") {
		t.Fatalf("raft voters after auto-restore: %v, want %v", voters, want)
	}
}

// A 3-node Shamir cluster that lost every volume comes back whole: node 0 is restored,
// the others join it (retry_join) and are unsealed with the stored keys, and all three
// are voters, with no human step.
func TestVaultAutoRestoreWholeCluster(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		v := testenv.StartVaultCluster(t, flavor, 3)
		v.WaitVoters(t)
		s := newVaultSetupFor(t, v, "")
		secrets := seed(t, v.Client())
		s.lifeboat(t, 0, "backup", "vault")
		wipeAll(v)
		r := s.lifeboat(t, 0, "vault", "auto-restore", "--unseal-keys-file", s.keysFile)
		t.Logf("auto-restore:\n%s", r)
		if !strings.Contains(r.stdout, "every node is back") {
			t.Fatalf("auto-restore output:\n%s", r)
		}
		checkAllBack(t, v)
		checkSeeded(t, v.Client(), secrets)
	})
}

// The same for a 3-node cluster auto-unsealed by Transit: no keys at all. The joined
// nodes cannot follow node 0 until its server process restarts (a cluster that never
// rotated its raft TLS key, as every young one: see rejoin.go). With --restart-pod,
// auto-restore deletes node 0's pod through a real Kubernetes API; the test plays the
// StatefulSet controller (it restarts node 0's process when the pod is gone and creates
// the pod again), and auto-restore ends with every node back, no human step.
func TestVaultAutoRestoreWholeTransitCluster(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	k := testenv.StartKube(t)
	k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": "vault"}}, nil)
	pod := map[string]any{
		"metadata": map[string]any{"name": "vault-0", "labels": map[string]string{"app": "vault"}},
		"spec":     map[string]any{"containers": []map[string]any{{"name": "vault", "image": "openbao"}}},
	}
	podGone := func() bool {
		_, err := k.Do(context.Background(), http.MethodGet, "/api/v1/namespaces/vault/pods/vault-0", nil, nil)
		return err != nil && strings.Contains(err.Error(), "404")
	}
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		ts := testenv.StartTransitServer(t, testenv.OpenBao)
		v := testenv.StartVaultClusterWith(t, flavor, 3, testenv.VaultClusterOptions{Seal: ts.Seal(ts.KeyName, ts.Token)})
		v.WaitVoters(t)
		s := newVaultSetupFor(t, v, "")
		kubeToken := writeFile(t, filepath.Join(s.dir, "kube-token"), k.Token+"\n")
		writeFile(t, s.config, strings.Replace(readFile(t, s.config), "    vault:\n",
			fmt.Sprintf("    restore:\n      kubernetes: {server: %q, caFile: %q, tokenFile: %q}\n    vault:\n", k.URL, k.CAFile, kubeToken), 1))
		secrets := seed(t, v.Client())
		s.lifeboat(t, 0, "backup", "vault")
		wipeAll(v)
		k.MustDo(http.MethodPost, "/api/v1/namespaces/vault/pods", pod, nil)

		done := make(chan run)
		go func() {
			done <- lifeboat(t, s.env, "--config", s.config, "vault", "auto-restore", "--join-timeout", "3m", "--restart-pod", "vault/vault-0")
		}()
		var r run
		restarts := 0
	wait:
		for {
			select {
			case r = <-done:
				break wait
			case <-time.After(time.Second):
				if podGone() {
					restarts++
					v.Nodes[0].Stop()
					v.Nodes[0].Start()
					k.MustDo(http.MethodPost, "/api/v1/namespaces/vault/pods", pod, nil)
				}
			}
		}
		t.Logf("auto-restore (node 0 restarted %d times):\n%s", restarts, r)
		for _, want := range []string{"no unseal keys needed", "unsealed by its transit seal, active", "restarting node 0", "every node is back"} {
			if r.code != 0 || !strings.Contains(r.stdout, want) {
				t.Fatalf("auto-restore output lacks %q:\n%s", want, r)
			}
		}
		if restarts != 1 {
			t.Fatalf("node 0's pod was deleted %d times, want once", restarts)
		}
		checkAllBack(t, v)
		checkSeeded(t, v.Client(), secrets)
		k.MustDo(http.MethodDelete, "/api/v1/namespaces/vault/pods/vault-0", nil, nil)
	})
}

// OpenBao's static seal (a key from a file): the same story; another key cannot open the
// snapshot.
func TestVaultStaticSealDrillAndRestore(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	newKey := func() string {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(k)
	}
	key := newKey()
	v := testenv.StartVaultClusterWith(t, testenv.OpenBao, 1, testenv.VaultClusterOptions{
		Seal: fmt.Sprintf("seal \"static\" {\n  current_key_id = \"k1\"\n  current_key = %q\n}\n", key),
	})
	keyFile := writeFile(t, filepath.Join(t.TempDir(), "static-key"), key+"\n")
	seal := fmt.Sprintf("          type: static\n          parameters: {current_key_id: k1}\n          secrets: {current_key: {file: %s}}\n", keyFile)
	drillAndRestoreWithSeal(t, v, "static", seal, func(*vaultSetup) { writeFile(t, keyFile, newKey()+"\n") })
}
