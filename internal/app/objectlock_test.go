package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

func lockedDest(m *testenv.MinIO, name, bucket, retainFor string) string {
	return fmt.Sprintf(`
  - name: %s
    kind: s3
    prefix: team
    retention: {keepLast: 1}
    s3:
      endpoint: %s
      bucket: %s
      pathStyle: true
      accessKeyID: {env: LIFEBOAT_TEST_S3_KEY}
      secretAccessKey: {env: LIFEBOAT_TEST_S3_SECRET}
      objectLock: {mode: governance, retainFor: %s}
`, name, m.URL(), bucket, retainFor)
}

// lockedRun is one backup as BackupWith runs it: destinations opened, locks checked.
func lockedRun(t *testing.T, a *App, src source.Source) *pipeline.Result {
	t.Helper()
	dests, err := a.Destinations("vault", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	CheckLocks(t.Context(), dests)
	cfgSrc, err := a.Config.Source("vault")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Pipeline(cfgSrc)
	if err != nil {
		t.Fatal(err)
	}
	return p.Run(t.Context(), src, dests)
}

// Against a real MinIO bucket with object lock: every object a run writes (data, extras,
// manifest) is locked; retention (keepLast 1) keeps the older backup while its lock runs,
// without failing the run, and deletes it (every version) in the first run after.
func TestObjectLockRetention(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeLockedBucket("locked")
	t.Setenv("LIFEBOAT_TEST_S3_KEY", m.AccessKey)
	t.Setenv("LIFEBOAT_TEST_S3_SECRET", m.SecretKey)
	a := testApp(t, lockedDest(m, "minio", "locked", "4s"), false)
	ctx := t.Context()
	raw := m.Client()

	first := lockedRun(t, a, snapshotSource(source.Extra{Name: "globals.sql", Data: []byte("CREATE ROLE argo;")}))
	if first.Status() != pipeline.StatusOK {
		t.Fatalf("first backup: %s: %v", first.Status(), first.Error())
	}
	var lastUntil time.Time
	n := 0
	for obj := range raw.ListObjects(ctx, "locked", minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
		mode, until, err := raw.GetObjectRetention(ctx, "locked", obj.Key, obj.VersionID)
		if err != nil || mode == nil || *mode != minio.Governance || until == nil || !until.After(first.Started) {
			t.Errorf("%s: retention %v until %v, %v; want GOVERNANCE after %s", obj.Key, mode, until, err, first.Started)
			continue
		}
		if until.After(lastUntil) {
			lastUntil = *until
		}
	}
	if n != 3 { // data, globals.sql, manifest
		t.Fatalf("%d objects written, want 3", n)
	}

	second := lockedRun(t, a, snapshotSource())
	if second.Status() != pipeline.StatusOK || len(second.Destinations[0].Pruned) != 0 || second.Destinations[0].PruneErr != nil {
		t.Fatalf("second backup inside the lock window: %s, pruned %v, prune error %v", second.Status(),
			second.Destinations[0].Pruned, second.Destinations[0].PruneErr)
	}
	if ids := listIDs(t, a); len(ids) != 2 {
		t.Fatalf("after a run inside the lock window the destination holds %v, want both backups", ids)
	}

	time.Sleep(time.Until(lastUntil) + 1500*time.Millisecond)
	third := lockedRun(t, a, snapshotSource())
	if third.Status() != pipeline.StatusOK || third.Destinations[0].PruneErr != nil {
		t.Fatalf("third backup: %s, prune error %v", third.Status(), third.Destinations[0].PruneErr)
	}
	if got := third.Destinations[0].Pruned; !slices.Contains(got, first.ID) {
		t.Errorf("after the first backup's lock ended the run pruned %v, want %s among them", got, first.ID)
	}
	for obj := range raw.ListObjects(ctx, "locked", minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if strings.Contains(obj.Key, first.ID) {
			t.Errorf("a version of the pruned backup is left: %s (%s, delete marker %v)", obj.Key, obj.VersionID, obj.IsDeleteMarker)
		}
	}
}

// A destination asking for object lock on a bucket created without it fails, alone, with
// the bucket and how to make one; the other destinations get the backup.
func TestObjectLockBucketWithoutLock(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBucket("plain")
	t.Setenv("LIFEBOAT_TEST_S3_KEY", m.AccessKey)
	t.Setenv("LIFEBOAT_TEST_S3_SECRET", m.SecretKey)
	a := testApp(t, `
  - name: local
    kind: file
    file: {path: "DIR/local"}
`+lockedDest(m, "minio", "plain", "30d"), false)
	res := lockedRun(t, a, snapshotSource())
	if res.Status() != pipeline.StatusPartial || !res.Destinations[0].OK || res.Destinations[1].OK {
		t.Fatalf("status %s, results %+v; want local ok and minio failed", res.Status(), res.Destinations)
	}
	msg := res.Destinations[1].Err.Error()
	if got, want := res.Destinations[1].Store, "s3://plain/team ("+m.Endpoint+")"; got != want {
		t.Errorf("the failed destination is reported at %q, want %q", got, want)
	}
	for _, want := range []string{`bucket "plain" at `, "does not have object lock enabled", "mc mb --with-lock"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q\ndoes not say %q", msg, want)
		}
	}
	for obj := range m.Client().ListObjects(context.Background(), "plain", minio.ListObjectsOptions{Recursive: true}) {
		t.Errorf("object %s written to the bucket without object lock", obj.Key)
	}
}

func listIDs(t *testing.T, a *App) []string {
	t.Helper()
	inv, err := a.Inventory(t.Context(), "vault", "minio")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range inv.Listings[0].Backups {
		ids = append(ids, b.ID)
	}
	return ids
}
