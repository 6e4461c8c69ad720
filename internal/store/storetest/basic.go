package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

func testRoundTrip(t *testing.T, s store.Store) {
	// 12 MiB spans several multipart parts when the S3 test sets a 5 MiB part size.
	for i, size := range []int{0, 1, 1000, 12<<20 + 17} {
		key := "roundtrip/" + strings.Repeat("x", i+1)
		data := randomBytes(uint64(i), size)
		put(t, s, key, data)
		wantContent(t, s, key, data)
		info, err := s.Stat(testContext(t), key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		if info.Key != key || info.Size != int64(size) {
			t.Fatalf("Stat(%q) = %+v, want key %q size %d", key, info, key, size)
		}
	}
	wantList(t, s, "roundtrip/", "roundtrip/x", "roundtrip/xx", "roundtrip/xxx", "roundtrip/xxxx")
}

func testOverwrite(t *testing.T, s store.Store) {
	put(t, s, "o/k", randomBytes(1, 5000))
	second := randomBytes(2, 300)
	put(t, s, "o/k", second)
	wantContent(t, s, "o/k", second)
	infos, err := s.List(testContext(t), "o/")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Size != int64(len(second)) {
		t.Fatalf("List after overwrite = %+v, want one object of %d bytes", infos, len(second))
	}
}

func testStat(t *testing.T, s store.Store) {
	// S3 keeps modification times in whole seconds, and the server's clock is not ours.
	const slack = 2 * time.Second
	before := time.Now()
	data := randomBytes(3, 4321)
	put(t, s, "stat/obj", data)
	after := time.Now()
	info, err := s.Stat(testContext(t), "stat/obj")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) {
		t.Fatalf("Stat size = %d, want %d", info.Size, len(data))
	}
	if info.Modified.Before(before.Add(-slack)) || info.Modified.After(after.Add(slack)) {
		t.Fatalf("Stat modified = %v, want between %v and %v", info.Modified, before, after)
	}
	infos, err := s.List(testContext(t), "stat/")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Size != info.Size || infos[0].Modified.Sub(info.Modified).Abs() > slack {
		t.Fatalf("List = %+v, want the Stat result %+v", infos, info)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	wantNotFound(t, s, "missing")
	wantNotFound(t, s, "missing/deeper/key")
	put(t, s, "dir/obj", []byte("x"))
	// "dir" is a directory in a file store and nothing in S3: not an object either way.
	wantNotFound(t, s, "dir")
	wantNotFound(t, s, "dir/obj/below")
	wantNotFound(t, s, "dir/ob")
}

func testDelete(t *testing.T, s store.Store) {
	ctx := testContext(t)
	put(t, s, "d/a/obj", []byte("a"))
	put(t, s, "d/a2", []byte("a2"))
	if err := s.Delete(ctx, "d/a/obj"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, s, "d/a/obj")
	wantList(t, s, "", "d/a2")
	if err := s.Delete(ctx, "d/a/obj"); err != nil {
		t.Fatalf("second Delete of the same key: %v", err)
	}
	if err := s.Delete(ctx, "never/existed"); err != nil {
		t.Fatalf("Delete of a key that never existed: %v", err)
	}
	// A prefix that is not itself an object is not deleted, nor is what lies below it.
	put(t, s, "keep/obj", []byte("k"))
	if err := s.Delete(ctx, "keep"); err != nil {
		t.Fatalf("Delete of a non-object prefix: %v", err)
	}
	wantContent(t, s, "keep/obj", []byte("k"))
	// Deleting the last object under a prefix lets a new object reuse it.
	if err := s.Delete(ctx, "d/a2"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "d/a/again", []byte("again"))
	wantList(t, s, "d/", "d/a/again")
}
