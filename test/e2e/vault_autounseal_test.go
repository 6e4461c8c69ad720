package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// transitDrill is the drill block of a source auto-unsealed by key on ts; the Transit
// token comes from tokenFile.
func transitDrill(bin string, ts *testenv.TransitServer, key, tokenFile string) string {
	return fmt.Sprintf(`    drill:
      vault:
        binary: %s
        seal:
          type: transit
          parameters: {address: %q, mount_path: %s/, key_name: %s}
          secrets: {token: {file: %s}}
        mounts: [secret/, ci-approle/]
        secrets: [secret/data/app/db, secret/data/team/ci]
    vault:
`, bin, ts.Addr, ts.Mount, key, tokenFile)
}

// A cluster auto-unsealed by a Transit engine of another server is drilled with the same
// seal and no unseal keys; a drill whose seal cannot open the snapshot fails with the
// server's reason and leaves the live cluster alone; a restore after data loss needs no
// keys.
func TestVaultTransitSealDrillAndRestore(t *testing.T) {
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		ts := testenv.StartTransitServer(t, testenv.OpenBao)
		v := testenv.StartVaultClusterWith(t, flavor, 1, testenv.VaultClusterOptions{Seal: ts.Seal(ts.KeyName, ts.Token)})
		s := newVaultSetupFor(t, v, "")
		transitToken := writeFile(t, filepath.Join(s.dir, "transit-token"), ts.Token+"\n")
		bin := testenv.Binary(t, string(flavor))
		writeFile(t, s.config, strings.Replace(readFile(t, s.config), "    vault:\n", transitDrill(bin, ts, ts.KeyName, transitToken), 1))
		secrets := seed(t, s.vault.Client())
		s.lifeboat(t, 0, "backup", "vault")

		r := s.lifeboat(t, 0, "drill", "vault")
		for _, want := range []string{"ok     mount secret/", "ok     secret secret/data/app/db", "passed"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("drill output lacks %q:\n%s", want, r)
			}
		}

		// Another Transit key cannot decrypt the snapshot's keyring.
		other := ts.NewKey(t, "other")
		otherToken := writeFile(t, filepath.Join(s.dir, "other-token"), ts.TokenFor(t, other)+"\n")
		writeFile(t, s.config, strings.Replace(readFile(t, s.config), "key_name: "+ts.KeyName+"}", "key_name: "+other+"}", 1))
		writeFile(t, s.config, strings.Replace(readFile(t, s.config), transitToken, otherToken, 1))
		r = s.lifeboat(t, 1, "drill", "vault", "--no-record")
		t.Logf("wrong seal:\n%s", r)
		out := r.stdout + r.stderr
		for _, want := range []string{"transit seal did not unseal it", "check drill.vault.seal", "the server said:", "failed to get stored keys", "transit/decrypt/" + other} {
			if !strings.Contains(out, want) {
				t.Fatalf("wrong-seal drill output lacks %q:\n%s", want, r)
			}
		}
		// The live cluster is untouched.
		st, err := v.Nodes[0].Client("").Sys().SealStatus()
		if err != nil || st.Sealed {
			t.Fatalf("live cluster after the failed drill: %+v %v", st, err)
		}
		checkSeeded(t, s.vault.Client(), secrets)

		// Data loss, then a restore with no keys.
		if err := s.vault.Client().KVv2("secret").DeleteMetadata(context.Background(), "app/db"); err != nil {
			t.Fatal(err)
		}
		r = s.lifeboat(t, 0, "restore", "vault", "--snapshot", "latest")
		if !strings.Contains(r.stdout, "active again") {
			t.Fatalf("restore output:\n%s", r)
		}
		checkSeeded(t, s.vault.Client(), secrets)
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
// nodes cannot follow node 0 until its server process restarts (it keeps the temporary
// raft TLS keys, see rejoin.go): auto-restore says so, and after that one restart every
// node is back.
func TestVaultAutoRestoreWholeTransitCluster(t *testing.T) {
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		ts := testenv.StartTransitServer(t, testenv.OpenBao)
		v := testenv.StartVaultClusterWith(t, flavor, 3, testenv.VaultClusterOptions{Seal: ts.Seal(ts.KeyName, ts.Token)})
		v.WaitVoters(t)
		s := newVaultSetupFor(t, v, "")
		secrets := seed(t, v.Client())
		s.lifeboat(t, 0, "backup", "vault")
		wipeAll(v)
		r := lifeboat(t, s.env, "--config", s.config, "vault", "auto-restore", "--join-timeout", "90s")
		t.Logf("auto-restore:\n%s", r)
		if !strings.Contains(r.stdout, "no unseal keys needed") || !strings.Contains(r.stdout, "unsealed by its transit seal, active") {
			t.Fatalf("auto-restore output:\n%s", r)
		}
		if r.code != 0 {
			if !strings.Contains(r.stderr, "restart node 0's server process") {
				t.Fatalf("auto-restore failed without the next step:\n%s", r)
			}
			v.Nodes[0].Stop()
			v.Nodes[0].Start()
			for _, n := range v.Nodes {
				testenv.WaitUnsealed(t, n)
			}
			v.WaitVoters(t)
		}
		checkAllBack(t, v)
		checkSeeded(t, v.Client(), secrets)
	})
}

// OpenBao's static seal (a key from a file): drilled with the same key and no unseal
// keys; another key fails the drill with the server's reason; a restore needs no keys.
func TestVaultStaticSealDrillAndRestore(t *testing.T) {
	newKey := func() string {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(k)
	}
	key := newKey()
	seal := fmt.Sprintf("seal \"static\" {\n  current_key_id = \"k1\"\n  current_key = %q\n}\n", key)
	v := testenv.StartVaultClusterWith(t, testenv.OpenBao, 1, testenv.VaultClusterOptions{Seal: seal})
	s := newVaultSetupFor(t, v, "")
	keyFile := writeFile(t, filepath.Join(s.dir, "static-key"), key+"\n")
	writeFile(t, s.config, strings.Replace(readFile(t, s.config), "    vault:\n", fmt.Sprintf(`    drill:
      vault:
        binary: %s
        seal:
          type: static
          parameters: {current_key_id: k1}
          secrets: {current_key: {file: %s}}
        mounts: [secret/]
        secrets: [secret/data/app/db]
    vault:
`, testenv.Binary(t, string(testenv.OpenBao)), keyFile), 1))
	secrets := seed(t, v.Client())
	s.lifeboat(t, 0, "backup", "vault")
	r := s.lifeboat(t, 0, "drill", "vault")
	if !strings.Contains(r.stdout, "ok     secret secret/data/app/db") || !strings.Contains(r.stdout, "passed") {
		t.Fatalf("drill output:\n%s", r)
	}

	writeFile(t, keyFile, newKey()+"\n")
	r = s.lifeboat(t, 1, "drill", "vault", "--no-record")
	out := r.stdout + r.stderr
	for _, want := range []string{"static seal did not unseal it", "check drill.vault.seal", "the server said:", "failed to get stored keys"} {
		if !strings.Contains(out, want) {
			t.Fatalf("wrong-key drill output lacks %q:\n%s", want, r)
		}
	}
	checkSeeded(t, v.Client(), secrets)

	if err := v.Client().KVv2("secret").DeleteMetadata(context.Background(), "app/db"); err != nil {
		t.Fatal(err)
	}
	r = s.lifeboat(t, 0, "restore", "vault", "--snapshot", "latest")
	if !strings.Contains(r.stdout, "active again") {
		t.Fatalf("restore output:\n%s", r)
	}
	checkSeeded(t, v.Client(), secrets)
}
