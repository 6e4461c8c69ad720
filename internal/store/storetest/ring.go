package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/ring"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// ringSize holds three 5 MiB S3 parts: two uploading at once while the next fills.
const ringSize = 16 << 20

// PutFromRing stores data under key as the pipeline does, from its shared ring.
func PutFromRing(ctx context.Context, s store.Store, key string, data []byte) error {
	return putFromRing(ctx, s, key, data, 0, nil)
}

// putFromRing stores data under key the way the pipeline does: written in chunks into a
// shared ring that the store reads (S3 takes its parts in place). stop, when not nil, is
// called after `at` bytes instead of writing the rest, and the ring is aborted with its
// error.
func putFromRing(ctx context.Context, s store.Store, key string, data []byte, at int, stop func() error) error {
	rg := ring.New(ringSize, 0, nil)
	rd := rg.NewReader(ctx, "storetest", nil)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for off := 0; off < len(data); off += 1 << 20 {
			if stop != nil && off >= at {
				rg.Abort(stop())
				return
			}
			if _, err := rg.Write(data[off:min(len(data), off+1<<20)]); err != nil {
				return
			}
		}
		rg.Close()
	}()
	err := s.Put(ctx, key, rd)
	if err != nil {
		rd.Detach(err)
	} else if ferr := rd.Finish(); ferr != nil {
		err = ferr
	}
	<-wrote
	rg.Free()
	return err
}

func testPutFromRing(t *testing.T, s store.Store) {
	for _, size := range []int{0, 1000, 5 << 20, 3*(5<<20) + 12345} {
		data := randomBytes(uint64(20+size), size)
		key := "ring/" + string(rune('a'+size%26))
		if err := putFromRing(testContext(t), s, key, data, 0, nil); err != nil {
			t.Fatalf("Put of %d bytes from the ring: %v", size, err)
		}
		wantContent(t, s, key, data)
	}
}

func testPutFromRingAborted(t *testing.T, s store.Store) {
	boom := errors.New("storetest: the backup was aborted")
	old := randomBytes(21, 777)
	put(t, s, "ringfail/existing", old)
	for _, key := range []string{"ringfail/new", "ringfail/existing"} {
		err := putFromRing(testContext(t), s, key, randomBytes(22, 4*(5<<20)), 2*(5<<20)+3, func() error { return boom })
		if !errors.Is(err, boom) {
			t.Fatalf("Put(%q) from an aborted ring = %v, want an error wrapping the abort's", key, err)
		}
	}
	wantNotFound(t, s, "ringfail/new")
	wantContent(t, s, "ringfail/existing", old)
	wantList(t, s, "", "ringfail/existing")
}

func testPutFromRingCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	// The writer stops (and the ring aborts) only after the cancellation: the store must
	// notice it by itself.
	err := putFromRing(ctx, s, "ringcancel/new", randomBytes(23, 4*(5<<20)), 2*(5<<20)+3, func() error {
		cancel()
		return context.Canceled
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled midway from the ring = %v, want an error wrapping context.Canceled", err)
	}
	wantNotFound(t, s, "ringcancel/new")
}
