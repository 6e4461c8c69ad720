package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

func testConcurrentPuts(t *testing.T, s store.Store) {
	const n = 8
	ctx := testContext(t)
	keys := make([]string, n)
	data := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		// Several Puts share a parent, so a file store creates the same directory at once.
		keys[i] = fmt.Sprintf("conc/%d/obj-%d", i%3, i)
		data[i] = randomBytes(uint64(100+i), 100_000+i)
		wg.Go(func() { errs[i] = s.Put(ctx, keys[i], newStream(data[i])) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent Put(%q): %v", keys[i], errs[i])
		}
		wantContent(t, s, keys[i], data[i])
	}
	if got := listKeys(t, s, "conc/"); len(got) != n {
		t.Fatalf("List after %d concurrent Puts = %q", n, got)
	}
}

// A prune deleting the last object of a directory while a backup writes a new object into
// that directory must not fail the backup (a file store removes emptied directories).
func testPutWhileDeletingSibling(t *testing.T, s store.Store) {
	ctx := testContext(t)
	for i := range 20 {
		put(t, s, "race/d/a", []byte("a"))
		var putErr, delErr error
		var wg sync.WaitGroup
		wg.Go(func() { delErr = s.Delete(ctx, "race/d/a") })
		wg.Go(func() { putErr = s.Put(ctx, "race/d/b", newStream([]byte("b"))) })
		wg.Wait()
		if putErr != nil || delErr != nil {
			t.Fatalf("round %d: Put = %v, Delete = %v", i, putErr, delErr)
		}
		wantContent(t, s, "race/d/b", []byte("b"))
		if err := s.Delete(ctx, "race/d/b"); err != nil {
			t.Fatal(err)
		}
	}
	wantList(t, s, "race/")
}
