package e2e

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// damageEnd flips the last byte of a stored object: for a zstd dump its frame checksum,
// for a raft snapshot its gzip trailer. The decoders hand out every byte of the data
// before they notice, and the sha256 differs only at the end: a restore that streams the
// backup must hold back the end until then, or the consumer would already have all of it.
func damageEnd(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 0xff
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A restore reads the backup once, verifying it as pg_restore reads it: a copy corrupt
// at its very end is refused with the target database as it was (pg_restore's one
// transaction rolled back), and "latest" falls back to the good copy in MinIO.
func TestPostgresRestoreRefusesACopyCorruptAtItsEnd(t *testing.T) {
	s := newPgSetup(t, "", "")
	want := s.pg.Fingerprint("argo")
	s.lifeboat(t, 0, "backup", "workflows")
	id := pgBackups(t, s)["local"][0].ID

	// The target is another database by now: one table the dump does not have.
	s.dropArgo(t)
	ctx := context.Background()
	admin := s.pg.Connect("postgres")
	if _, err := admin.Exec(ctx, "CREATE DATABASE argo"); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	conn := s.pg.Connect("argo")
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (n int); INSERT INTO kept SELECT generate_series(1, 3)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	untouched := s.pg.Fingerprint("argo")

	damageEnd(t, filepath.Join(s.localDir, "workflows", id, "data.dump.zst"))
	r := s.lifeboat(t, 1, "restore", "workflows", "--dump", id, "--from", "local")
	if !strings.Contains(r.stdout, "restoring backup "+id+" from local with pg_restore") ||
		!strings.Contains(r.stdout, "the restore from it stopped before the backup's end") ||
		!strings.Contains(r.stderr, "refusing to restore: "+id+" in local") {
		t.Fatalf("restore of a copy corrupt at its end:\n%s", r)
	}
	if got := s.pg.Fingerprint("argo"); !maps.Equal(got, untouched) {
		t.Fatalf("the refused restore changed the database: %v, was %v", got, untouched)
	}

	// "latest" tries the local copy first, skips it, restores MinIO's.
	r = s.lifeboat(t, 0, "restore", "workflows", "--dump", "latest")
	if !strings.Contains(r.stdout, "does not verify, skipping it: "+id+" in local") ||
		!strings.Contains(r.stdout, "verifying backup "+id+" from minio while restoring it") ||
		!strings.Contains(r.stdout, "verified: the whole backup matched its checksum") {
		t.Fatalf("restore did not fall back to the good copy:\n%s", r)
	}
	printedCounts(t, r)
	got := s.pg.Fingerprint("argo")
	if got["public.kept"] != untouched["public.kept"] {
		t.Fatalf("pg_restore --clean changed a table the dump does not have: %s", got["public.kept"])
	}
	delete(got, "public.kept")
	sameData(t, want, got)
}

// The same for Vault: the leader never receives the whole of a snapshot that is corrupt
// at its end, a secret written after the backup is still there, and "latest" restores the
// good copy.
func TestVaultRestoreRefusesACopyCorruptAtItsEnd(t *testing.T) {
	s := newVaultSetup(t, testenv.OpenBao, "")
	c := s.vault.Client()
	secrets := seed(t, c)
	s.lifeboat(t, 0, "backup", "vault")
	id := listBackups(t, s)["local"][0].ID
	putKV(t, c, "app/after", "written after the backup")

	damageEnd(t, filepath.Join(s.localDir, "vault", id, "data.snap"))
	r := s.lifeboat(t, 1, "restore", "vault", "--snapshot", id, "--from", "local")
	if !strings.Contains(r.stdout, "restoring into the raft leader") ||
		!strings.Contains(r.stdout, "the restore from it stopped before the backup's end") ||
		!strings.Contains(r.stderr, "refusing to restore: "+id+" in local") || !strings.Contains(r.stderr, "checksum mismatch") {
		t.Fatalf("restore of a copy corrupt at its end:\n%s", r)
	}
	after, err := c.KVv2("secret").Get(context.Background(), "app/after")
	if err != nil || after.Data["value"] != "written after the backup" {
		t.Fatalf("the refused restore changed Vault: secret written after the backup: %v, %v", after, err)
	}
	checkSeeded(t, c, secrets)

	r = s.lifeboat(t, 0, "restore", "vault", "--snapshot", "latest")
	if !strings.Contains(r.stdout, "does not verify, skipping it: "+id+" in local") ||
		!strings.Contains(r.stdout, "restored backup "+id+" from minio") {
		t.Fatalf("restore did not fall back to the good copy:\n%s", r)
	}
	s.vault.WaitActive(s.vault.Nodes[0])
	checkSeeded(t, c, secrets)
	if _, err := c.KVv2("secret").Get(context.Background(), "app/after"); err == nil {
		t.Fatal("the secret written after the backup survived the restore: nothing was restored")
	}
}
