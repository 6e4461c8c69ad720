package s3

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Every Put to a locked destination carries the retention, counted from the injected
// clock: the server reports it back for each object, and for RetainUntil.
func TestObjectLockPutSetsRetention(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeLockedBucket("locked")
	ctx := storetest.Context(t)
	// An instant in the future, so that what the server reports can only come from it.
	now := time.Now().UTC().Add(10 * time.Minute).Truncate(time.Second)
	s := newTestStore(t, m, Options{Bucket: "locked", Prefix: "p",
		ObjectLock: &ObjectLock{Mode: "governance", RetainFor: time.Hour}, Now: func() time.Time { return now }})
	if err := s.CheckLock(ctx); err != nil {
		t.Fatalf("CheckLock on a bucket with object lock: %v", err)
	}
	want := now.Add(time.Hour)
	keys := map[string]io.Reader{
		"vault/id/data.snap":     io.LimitReader(storetest.Zeros{}, 2*MinPartSize+1), // multipart
		"vault/id/globals.sql":   strings.NewReader("small"),
		"vault/id/manifest.json": strings.NewReader("{}"),
	}
	for key, r := range keys {
		if err := s.Put(ctx, key, r); err != nil {
			t.Fatalf("Put %s: %v", key, err)
		}
	}
	// The pipeline's way: parts straight from its ring, several in flight.
	fromRing := "vault/id2/data.snap"
	if err := storetest.PutFromRing(ctx, s, fromRing, make([]byte, 3*MinPartSize+7)); err != nil {
		t.Fatalf("Put %s from the ring: %v", fromRing, err)
	}
	keys[fromRing] = nil
	for key := range keys {
		mode, until, err := m.Client().GetObjectRetention(ctx, "locked", "p/"+key, "")
		if err != nil || mode == nil || *mode != minio.Governance || until == nil || !until.Equal(want) {
			t.Errorf("%s: retention %v %v, %v; want GOVERNANCE until %s", key, mode, until, err, want)
		}
		got, err := s.RetainUntil(ctx, key)
		if err != nil || !got.Equal(want) {
			t.Errorf("RetainUntil(%s) = %s, %v; want %s", key, got, err, want)
		}
	}
	if got, err := s.RetainUntil(ctx, "vault/id/missing"); err != nil || !got.IsZero() {
		t.Errorf("RetainUntil of a missing key = %s, %v; want zero", got, err)
	}

	// A locked object cannot be deleted, and stays exactly as it was.
	err := s.Delete(ctx, "vault/id/manifest.json")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "until "+want.Format(time.RFC3339)) {
		t.Fatalf("Delete of a locked object = %v, want ErrLocked until %s", err, want)
	}
	infos, err := s.List(ctx, "vault/")
	if err != nil || len(infos) != 4 {
		t.Fatalf("after a refused delete List = %+v, %v", infos, err)
	}

	// A rewrite (a drill record in a manifest) is a new version, locked again.
	if err := s.Put(ctx, "vault/id/manifest.json", strings.NewReader(`{"v":2}`)); err != nil {
		t.Fatalf("rewriting a locked object: %v", err)
	}
	if b := readAll(t, s, "vault/id/manifest.json"); b != `{"v":2}` {
		t.Fatalf("manifest after rewrite = %q", b)
	}
}

// A lock of a few seconds: Delete is refused inside the window and removes every version
// after it, so the bucket frees the space (a plain delete would only add a delete marker).
func TestObjectLockDeleteAfterWindow(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeLockedBucket("short")
	ctx := storetest.Context(t)
	s := newTestStore(t, m, Options{Bucket: "short", ObjectLock: &ObjectLock{Mode: "compliance", RetainFor: 3 * time.Second}})
	for _, v := range []string{"one", "two"} {
		if err := s.Put(ctx, "vault/id/manifest.json", strings.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "vault/id/manifest.json.other", strings.NewReader("beside")); err != nil {
		t.Fatal(err)
	}
	until, err := s.RetainUntil(ctx, "vault/id/manifest.json")
	if err != nil || until.IsZero() {
		t.Fatalf("RetainUntil = %s, %v", until, err)
	}
	if err := s.Delete(ctx, "vault/id/manifest.json"); !errors.Is(err, ErrLocked) {
		t.Fatalf("Delete inside the window = %v, want ErrLocked", err)
	}
	if got := versions(t, m, "short", "vault/id/manifest.json"); got != 2 {
		t.Fatalf("%d versions after a refused delete, want 2", got)
	}
	time.Sleep(time.Until(until) + time.Second)
	if err := s.Delete(ctx, "vault/id/manifest.json"); err != nil {
		t.Fatalf("Delete after the window: %v", err)
	}
	if got := versions(t, m, "short", "vault/id/manifest.json"); got != 0 {
		t.Errorf("%d versions (or delete markers) left after Delete, want none", got)
	}
	if got := versions(t, m, "short", "vault/id/manifest.json.other"); got != 1 {
		t.Errorf("a key that only starts with the deleted one has %d versions, want 1", got)
	}
	if err := s.Delete(ctx, "vault/id/manifest.json"); err != nil {
		t.Errorf("Delete of a key already gone: %v", err)
	}
}

// Object lock is a property of the bucket: a destination that asks for it on a bucket
// without it fails its check with a message that says how to get one.
func TestCheckLock(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBucket("plain")
	ctx := storetest.Context(t)
	s := newTestStore(t, m, Options{Bucket: "plain", ObjectLock: &ObjectLock{Mode: "governance", RetainFor: time.Hour}})
	err := s.CheckLock(ctx)
	for _, want := range []string{`bucket "plain" at `, "does not have object lock enabled", "must be enabled when the bucket is created",
		"mc mb --with-lock", "AWS console", "destinations[].s3.bucket"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckLock on a bucket without object lock = %v\nwant it to say %q", err, want)
		}
	}
	if err := newTestStore(t, m, Options{Bucket: "plain"}).CheckLock(ctx); err != nil {
		t.Errorf("CheckLock without objectLock configured = %v", err)
	}
	if got, err := newTestStore(t, m, Options{Bucket: "plain"}).RetainUntil(ctx, "k"); err != nil || !got.IsZero() {
		t.Errorf("RetainUntil without objectLock configured = %s, %v", got, err)
	}
}

func TestObjectLockOptions(t *testing.T) {
	tests := []struct {
		lock ObjectLock
		want string
	}{
		{ObjectLock{Mode: "GOVERNANCE", RetainFor: time.Second}, ""},
		{ObjectLock{Mode: "compliance", RetainFor: 30 * 24 * time.Hour}, ""},
		{ObjectLock{Mode: "legal-hold", RetainFor: time.Hour}, `S3 object lock mode "legal-hold" is not governance or compliance`},
		{ObjectLock{Mode: "governance", RetainFor: time.Millisecond}, "retainFor 1ms is below S3's one second"},
	}
	for _, tc := range tests {
		_, err := New(Options{Bucket: "backups", ObjectLock: &tc.lock})
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("New with %+v = %v, want %q", tc.lock, err, tc.want)
		}
	}
	// Retain-until dates are whole seconds, never shorter than retainFor.
	l := &lockSettings{retainFor: time.Hour, now: func() time.Time { return time.Date(2026, 12, 7, 10, 0, 0, 1, time.UTC) }}
	if got, want := l.retainUntil(), time.Date(2026, 12, 7, 11, 0, 1, 0, time.UTC); !got.Equal(want) {
		t.Errorf("retainUntil = %s, want %s", got, want)
	}
}

func versions(t *testing.T, m *testenv.MinIO, bucket, name string) int {
	t.Helper()
	n := 0
	for v := range m.Client().ListObjects(storetest.Context(t), bucket, minio.ListObjectsOptions{Prefix: name, WithVersions: true}) {
		if v.Err != nil {
			t.Fatal(v.Err)
		}
		if v.Key == name {
			n++
		}
	}
	return n
}

func readAll(t *testing.T, s *Store, key string) string {
	t.Helper()
	r, err := s.Get(storetest.Context(t), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
