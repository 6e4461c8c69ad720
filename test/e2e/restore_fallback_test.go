package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// damageLocal flips a byte in the middle of the local copy of backup id.
func damageLocal(t *testing.T, s *vaultSetup, id string) {
	t.Helper()
	path := filepath.Join(s.localDir, "vault", id, "data.snap")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// damageMinIO does the same to the MinIO copy.
func damageMinIO(t *testing.T, s *vaultSetup, id string) {
	t.Helper()
	ctx := context.Background()
	key := "lifeboat/vault/" + id + "/data.snap"
	obj, err := s.minio.Client().GetObject(ctx, "backups", key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff
	if _, err := s.minio.Client().PutObject(ctx, "backups", key, bytes.NewReader(raw), int64(len(raw)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A damaged copy of the newest backup does not stop a restore: restore and auto-restore
// fall back to the other copy, then to an older backup, saying what they skipped.
func TestVaultRestoreFallsBackPastADamagedCopy(t *testing.T) {
	s := newVaultSetup(t, testenv.OpenBao, "")
	secrets := seed(t, s.vault.Client())
	s.lifeboat(t, 0, "backup", "vault")
	older := listBackups(t, s)["local"][0].ID
	s.lifeboat(t, 0, "backup", "vault")
	newest := listBackups(t, s)["local"][0].ID
	if newest == older {
		t.Fatal("the second backup has the first one's id")
	}

	// The newest copy in local (tried first) is damaged: its MinIO copy is used.
	damageLocal(t, s, newest)
	r := s.lifeboat(t, 0, "restore", "vault", "--snapshot", "latest")
	// The restore reads the snapshot once, verifying it as it is sent (its end held
	// back): the damaged copy fails during the restore, which stops, and the next is used.
	if !strings.Contains(r.stdout, "verifying backup "+newest+" from local while restoring it") ||
		!strings.Contains(r.stdout, "the restore from it stopped before the backup's end") ||
		!strings.Contains(r.stdout, "does not verify, skipping it: "+newest+" in local") ||
		!strings.Contains(r.stdout, "verifying backup "+newest+" from minio") || !strings.Contains(r.stdout, "restored backup "+newest+" from minio") {
		t.Fatalf("restore did not fall back to the good copy:\n%s", r)
	}
	s.vault.WaitActive(s.vault.Nodes[0])

	// Both copies of the newest are damaged: an explicit id refuses, "latest" takes the
	// older backup, and so does auto-restore of a wiped Vault.
	damageMinIO(t, s, newest)
	r = s.lifeboat(t, 1, "restore", "vault", "--snapshot", newest)
	if !strings.Contains(r.stderr, "refusing to restore") || !strings.Contains(r.stderr, "none of the 2 copies verifies") {
		t.Fatalf("restore of an id with no good copy:\n%s", r)
	}
	node := s.vault.Nodes[0]
	node.Stop()
	node.Wipe()
	node.Start()
	r = s.lifeboat(t, 0, "vault", "auto-restore", "--unseal-keys-file", s.keysFile)
	if !strings.Contains(r.stdout, "falling back to an older backup: "+older) || !strings.Contains(r.stdout, "restored backup "+older+" from local") {
		t.Fatalf("auto-restore did not fall back to the older backup:\n%s", r)
	}
	s.vault.WaitActive(node)
	checkSeeded(t, s.vault.Client(), secrets)
}
