package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

type listed struct {
	Destination string `json:"destination"`
	ID          string `json:"id"`
	SHA256      string `json:"sha256"`
	Lineage     string `json:"lineage"`
	NewLineage  bool   `json:"newLineage"`
	Suspicious  string `json:"suspicious"`
}

// lifeboatRunner is what the per-test setups share: run the lifeboat binary with their
// config and expect an exit code.
type lifeboatRunner interface {
	lifeboat(t *testing.T, want int, args ...string) run
}

// backupsBySource lists a source's committed backups per destination.
// lbRunner adapts a closure to lifeboatRunner.
type lbRunner func(want int, args ...string) run

func (f lbRunner) lifeboat(t *testing.T, want int, args ...string) run { return f(want, args...) }

func backupsBySource(t *testing.T, lb lifeboatRunner, source string) map[string][]listed {
	t.Helper()
	r := lb.lifeboat(t, 0, "list", source, "--json")
	var rows []listed
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("list --json: %v\n%s", err, r)
	}
	out := map[string][]listed{}
	for _, row := range rows {
		out[row.Destination] = append(out[row.Destination], row)
	}
	return out
}

func listBackups(t *testing.T, s *vaultSetup) map[string][]listed {
	t.Helper()
	return backupsBySource(t, s, "vault")
}

// The heart of the product: back up a Vault to a directory and MinIO, lose the Vault
// entirely, restore it, and get every secret, policy and mount back — by "latest", by id
// from MinIO, and from a local snapshot file.
func TestVaultBackupWipeRestore(t *testing.T) {
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		s := newVaultSetup(t, flavor, "")
		secrets := seed(t, s.vault.Client())

		r := s.lifeboat(t, 0, "backup", "vault")
		if !strings.Contains(r.stdout, "local") || !strings.Contains(r.stdout, "minio") || strings.Contains(r.stdout, "FAILED") {
			t.Fatalf("backup output does not show both destinations committed:\n%s", r)
		}
		byDest := listBackups(t, s)
		if len(byDest["local"]) != 1 || len(byDest["minio"]) != 1 || byDest["local"][0].ID != byDest["minio"][0].ID {
			t.Fatalf("want the same backup in local and minio, got %+v", byDest)
		}
		id := byDest["local"][0].ID
		if byDest["local"][0].SHA256 != byDest["minio"][0].SHA256 {
			t.Fatal("the two destinations hold different bytes")
		}
		s.lifeboat(t, 0, "verify", "latest")

		// 1. Lost volume, fresh init, restore "latest"; unseal with the ORIGINAL keys.
		newToken := s.wipe(t)
		r = s.lifeboat(t, 0, "restore", "vault", "--snapshot", "latest", "--force", "--token-file", newToken)
		if !strings.Contains(r.stdout, "verified") {
			t.Fatalf("restore did not verify first:\n%s", r)
		}
		node := s.vault.Nodes[0]
		t.Logf("restore said:\n%s", r.stdout)
		if strings.Contains(r.stdout, "SEALED") {
			testenv.UnsealWith(t, node, s.vault.UnsealKeys)
		}
		s.vault.WaitActive(node)
		checkSeeded(t, s.vault.Client(), secrets)
		// The restored keyring is the original cluster's: after a restart only the
		// original unseal keys open it.
		node.Stop()
		node.Start()
		testenv.UnsealWith(t, node, s.vault.UnsealKeys)
		s.vault.WaitActive(node)
		checkSeeded(t, s.vault.Client(), secrets)

		// 2. Same cluster, by id from MinIO, no --force needed: a deleted secret returns.
		if err := s.vault.Client().KVv2("secret").DeleteMetadata(context.Background(), "app/db"); err != nil {
			t.Fatal(err)
		}
		s.lifeboat(t, 0, "restore", "vault", "--snapshot", id, "--from", "minio")
		s.vault.WaitActive(node)
		checkSeeded(t, s.vault.Client(), secrets)

		// 3. Lost again; restore from the local snapshot file with standard layout, and let
		//    lifeboat unseal with the original keys.
		newToken = s.wipe(t)
		file := filepath.Join(s.localDir, "vault", id, "data.snap")
		if _, err := os.Stat(file); err != nil {
			t.Fatalf("the local destination does not hold a plain snapshot file: %v", err)
		}
		r = s.lifeboat(t, 0, "restore", "vault", "--snapshot", file, "--force", "--token-file", newToken, "--unseal-keys-file", s.keysFile)
		s.vault.WaitActive(node)
		checkSeeded(t, s.vault.Client(), secrets)
	})
}
