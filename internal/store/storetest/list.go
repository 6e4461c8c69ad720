package storetest

import (
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

func testList(t *testing.T, s store.Store) {
	wantList(t, s, "")
	wantList(t, s, "nothing/")
	// Put out of order: List sorts. "a" cannot be an object next to "a/b" in a file store.
	keys := []string{"b/x", "a/c/d", "ab", "a/b", "a.2", "a-1", "a/c/e/f"}
	for i, k := range keys {
		put(t, s, k, randomBytes(uint64(i), i+1))
	}
	wantList(t, s, "", "a-1", "a.2", "a/b", "a/c/d", "a/c/e/f", "ab", "b/x")
	wantList(t, s, "a", "a-1", "a.2", "a/b", "a/c/d", "a/c/e/f", "ab")
	wantList(t, s, "a/", "a/b", "a/c/d", "a/c/e/f")
	wantList(t, s, "a/c", "a/c/d", "a/c/e/f")
	wantList(t, s, "a/c/", "a/c/d", "a/c/e/f")
	wantList(t, s, "a/c/d", "a/c/d")
	wantList(t, s, "a/c/e/f/")
	wantList(t, s, "b", "b/x")
	wantList(t, s, "b/x/y")
	wantList(t, s, "zzz")
	wantList(t, s, "zzz/")

	infos, err := s.List(testContext(t), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Size <= 0 || info.Modified.IsZero() {
			t.Fatalf("List entry %+v: want its size and modification time", info)
		}
	}
}
