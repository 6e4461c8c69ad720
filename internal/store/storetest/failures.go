package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// failAt is past the first 5 MiB part, so an S3 store has uploaded a part when it fails.
const failAt = 6<<20 + 3

func testReaderFailsMidway(t *testing.T, s store.Store) {
	boom := errors.New("storetest: source failed")
	old := randomBytes(10, 777)
	put(t, s, "fail/existing", old)

	for _, key := range []string{"fail/new", "fail/existing"} {
		r := &failingStream{data: newStream(randomBytes(11, failAt)), err: boom}
		err := s.Put(testContext(t), key, r)
		if !errors.Is(err, boom) {
			t.Fatalf("Put(%q) with a failing reader = %v, want an error wrapping the reader's", key, err)
		}
	}
	// Nothing partial under the new key, and the old object survives a failed overwrite.
	wantNotFound(t, s, "fail/new")
	wantContent(t, s, "fail/existing", old)
	wantList(t, s, "", "fail/existing")
}

func testContextCancelledMidway(t *testing.T, s store.Store) {
	old := randomBytes(12, 999)
	put(t, s, "cancel/existing", old)

	for _, key := range []string{"cancel/new", "cancel/existing"} {
		ctx, cancel := context.WithCancel(testContext(t))
		// The stream goes on after the cancellation: the store must stop by itself.
		src := &HookAfter{R: &endless{block: randomBytes(13, 65521)}, N: failAt, Hook: cancel}
		err := s.Put(ctx, key, src)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put(%q) cancelled midway = %v, want an error wrapping context.Canceled", key, err)
		}
	}
	wantNotFound(t, s, "cancel/new")
	wantContent(t, s, "cancel/existing", old)
	wantList(t, s, "", "cancel/existing")
}

func testContextCancelledBefore(t *testing.T, s store.Store) {
	put(t, s, "pre/existing", []byte("keep"))
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()

	if err := s.Put(ctx, "pre/new", newStream([]byte("data"))); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context = %v, want context.Canceled", err)
	}
	if rc, err := s.Get(ctx, "pre/existing"); !errors.Is(err, context.Canceled) {
		if err == nil {
			rc.Close()
		}
		t.Fatalf("Get with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := s.Stat(ctx, "pre/existing"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stat with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with a cancelled context = %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, "pre/existing"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with a cancelled context = %v, want context.Canceled", err)
	}
	wantNotFound(t, s, "pre/new")
	wantContent(t, s, "pre/existing", []byte("keep"))
}
