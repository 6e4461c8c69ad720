package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// objectLockConfig backs OpenBao up to one MinIO bucket with object lock on and keepLast 1.
func objectLockConfig(t *testing.T, v *testenv.Vault, m *testenv.MinIO, bucket, retainFor string) string {
	t.Helper()
	dir := t.TempDir()
	token := writeFile(t, filepath.Join(dir, "token"), v.RootToken+"\n")
	return writeFile(t, filepath.Join(dir, "lifeboat.yaml"), fmt.Sprintf(`
sources:
  - name: vault
    kind: vault
    vault:
      address: %s
      auth:
        token: {file: %s}
destinations:
  - name: immutable
    kind: s3
    prefix: lifeboat
    retention: {keepLast: 1}
    s3:
      endpoint: %s
      bucket: %s
      pathStyle: true
      insecure: true
      accessKeyID: {env: TEST_S3_ACCESS_KEY}
      secretAccessKey: {env: TEST_S3_SECRET_KEY}
      objectLock: {mode: governance, retainFor: %s}
`, v.Addr(), token, m.Endpoint, bucket, retainFor))
}

// Immutable copies (issue 16): every object a backup writes is locked; keepLast 1 keeps
// both backups while the older one's lock runs (prune says so and exits 0); after the
// window prune deletes it, every version of it. A bucket without object lock is refused.
func TestObjectLock(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	v := testenv.StartVault(t, testenv.OpenBao)
	m := testenv.StartMinIO(t)
	m.MakeLockedBucket("locked")
	m.MakeBucket("plain")
	env := []string{"TEST_S3_ACCESS_KEY=" + m.AccessKey, "TEST_S3_SECRET_KEY=" + m.SecretKey}
	cfg := objectLockConfig(t, v, m, "locked", "30s")
	lb := func(want int, args ...string) run {
		t.Helper()
		return mustRun(t, want, env, append([]string{"--config", cfg}, args...)...)
	}
	ctx := context.Background()
	raw := m.Client()

	lb(0, "backup", "vault")
	lb(0, "backup", "vault") // its retention would delete the first backup: locked, kept
	ids := lockedIDs(t, lb)
	if len(ids) != 2 {
		t.Fatalf("after two backups with keepLast 1 inside the lock window: %v, want both", ids)
	}
	older := ids[1]

	// Every object lifeboat wrote carries the retention, and the older backup's lock ends
	// when its last object's does.
	var olderUntil time.Time
	n := 0
	for obj := range raw.ListObjects(ctx, "locked", minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
		mode, until, err := raw.GetObjectRetention(ctx, "locked", obj.Key, obj.VersionID)
		if err != nil || mode == nil || *mode != minio.Governance || until == nil || !until.After(time.Now()) {
			t.Fatalf("%s (%s): retention %v until %v, %v; want GOVERNANCE in the future", obj.Key, obj.VersionID, mode, until, err)
		}
		if strings.Contains(obj.Key, older) && until.After(olderUntil) {
			olderUntil = *until
		}
	}
	if n != 4 { // two backups: data.snap and manifest.json each
		t.Fatalf("%d object versions in the bucket, want 4", n)
	}

	r := lb(0, "prune", "--dry-run")
	t.Logf("prune --dry-run inside the lock window:\n%s", r.stdout)
	for _, want := range []string{"keep   " + older + "  locked until " + olderUntil.UTC().Format(time.RFC3339),
		"not matched by any keep rule", "dry run: would delete 0, keep 2", "1 kept by object lock (" + older + ")"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("prune --dry-run inside the lock window does not say %q:\n%s", want, r)
		}
	}
	r = lb(0, "prune")
	if !strings.Contains(r.stdout, "deleted 0, kept 2") || !strings.Contains(r.stdout, "locked until") {
		t.Errorf("prune inside the lock window:\n%s", r)
	}
	if time.Now().After(olderUntil) {
		t.Fatalf("the machine took longer than the lock window (until %s) to get here: nothing above was inside it", olderUntil)
	}
	if ids := lockedIDs(t, lb); len(ids) != 2 {
		t.Fatalf("after a prune inside the lock window: %v, want both backups", ids)
	}

	time.Sleep(time.Until(olderUntil) + 1500*time.Millisecond)
	r = lb(0, "prune")
	if !strings.Contains(r.stdout, "delete "+older) || !strings.Contains(r.stdout, "deleted 1, kept 1") {
		t.Errorf("prune after the lock window:\n%s", r)
	}
	if got := lockedIDs(t, lb); len(got) != 1 || got[0] != ids[0] {
		t.Fatalf("after the window: %v, want only %s", got, ids[0])
	}
	for obj := range raw.ListObjects(ctx, "locked", minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if strings.Contains(obj.Key, older) {
			t.Errorf("a version of the pruned backup is left: %s (delete marker %v)", obj.Key, obj.IsDeleteMarker)
		}
	}
	lb(0, "verify", "latest")

	// A bucket created without object lock: the backup fails up front and says how to fix it.
	plain := objectLockConfig(t, v, m, "plain", "30d")
	r = mustRun(t, 1, env, "--config", plain, "backup", "vault")
	t.Logf("backup to a bucket without object lock:\n%s", r)
	for _, want := range []string{`bucket "plain" at `, "does not have object lock enabled", "must be enabled when the bucket is created", "mc mb --with-lock"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("backup to a bucket without object lock does not say %q:\n%s", want, r)
		}
	}
	for obj := range raw.ListObjects(ctx, "plain", minio.ListObjectsOptions{Recursive: true}) {
		t.Errorf("object %s written to the bucket without object lock", obj.Key)
	}
}

// lockedIDs lists the immutable destination's backups, newest first.
func lockedIDs(t *testing.T, lb func(int, ...string) run) []string {
	t.Helper()
	var ids []string
	for _, b := range backupsBySource(t, lbRunner(lb), "vault")["immutable"] {
		ids = append(ids, b.ID)
	}
	return ids
}
