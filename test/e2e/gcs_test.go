package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// A real OpenBao backed up to a directory and to GCS (fake-gcs-server) from one read, then
// verified and restored from the GCS copy alone: the secrets written before the backup are
// back, the one written after it is gone.
func TestVaultBackupRestoreFromGCS(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	v := testenv.StartVault(t, testenv.OpenBao)
	gcs := testenv.StartFakeGCS(t)
	gcs.MakeBucket("backups")
	dir := t.TempDir()
	localDir := filepath.Join(dir, "backups")
	tokenFile := writeFile(t, filepath.Join(dir, "token"), v.RootToken+"\n")
	config := writeFile(t, filepath.Join(dir, "lifeboat.yaml"), fmt.Sprintf(`
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
  - name: gcs
    kind: gcs
    prefix: lifeboat
    gcs:
      bucket: backups
      endpoint: %s
      chunkSizeMiB: 1
`, v.Addr(), tokenFile, localDir, gcs.URL()))
	lb := func(want int, args ...string) run {
		t.Helper()
		return mustRun(t, want, nil, append([]string{"--config", config}, args...)...)
	}

	secrets := seed(t, v.Client())
	r := lb(0, "backup", "vault")
	if !strings.Contains(r.stdout, "gs://backups/lifeboat ("+gcs.Endpoint+")") || strings.Contains(r.stdout, "FAILED") {
		t.Fatalf("backup output does not show the gcs destination committed:\n%s", r)
	}
	byDest := backupsBySource(t, lbRunner(lb), "vault")
	if len(byDest["local"]) != 1 || len(byDest["gcs"]) != 1 || byDest["local"][0].ID != byDest["gcs"][0].ID {
		t.Fatalf("want the same backup in local and gcs, got %+v", byDest)
	}
	id := byDest["gcs"][0].ID
	if byDest["local"][0].SHA256 != byDest["gcs"][0].SHA256 {
		t.Fatal("the two destinations hold different bytes")
	}
	names := gcs.ObjectNames("backups")
	for _, want := range []string{"lifeboat/vault/" + id + "/data.snap", "lifeboat/vault/" + id + "/manifest.json"} {
		if !slices.Contains(names, want) {
			t.Fatalf("the bucket holds %q, want %s", names, want)
		}
	}
	r = lb(0, "verify", id, "--destination", "gcs")
	if !strings.Contains(r.stdout, "gcs") {
		t.Fatalf("verify does not report the gcs copy:\n%s", r)
	}

	// Only the GCS copy is left to restore from, and the cluster has moved on since.
	if err := os.RemoveAll(filepath.Join(localDir, "vault", id)); err != nil {
		t.Fatal(err)
	}
	putKV(t, v.Client(), "app/after-backup", "not in the backup")
	if err := v.Client().KVv2("secret").DeleteMetadata(context.Background(), "app/db"); err != nil {
		t.Fatal(err)
	}
	lb(0, "restore", "vault", "--snapshot", "latest", "--from", "gcs")
	v.WaitActive(v.Nodes[0])
	checkSeeded(t, v.Client(), secrets)
	if s, err := v.Client().KVv2("secret").Get(context.Background(), "app/after-backup"); err == nil {
		t.Fatalf("secret written after the backup survived the restore: %v", s.Data)
	}
}
