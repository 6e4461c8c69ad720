package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

func testKeyCharacters(t *testing.T, s store.Store) {
	keys := []string{
		"vault/vault-20250101T000000Z-ab12/data.snap.zst",
		"workflows/workflows-20250101T000000Z-00ff/manifest.json",
		"workflows/workflows-20250101T000000Z-00ff/data.dump.zst.age",
		"x/.hidden",
		"a..b/c_d~e+f=g@h",
		"space and ünïcode/é",
	}
	for i, k := range keys {
		put(t, s, k, []byte(k))
		if got := get(t, s, k); string(got) != k {
			t.Fatalf("Get(%q) = %q (key %d)", k, got, i)
		}
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	wantList(t, s, "", want...)
}

func testInvalidKeys(t *testing.T, s store.Store) {
	ctx := testContext(t)
	put(t, s, "b", []byte("outside"))
	for _, k := range []string{"", "/abs", "/", "a/", "a//b", "..", "../b", "a/../b", "a/../../b", "./a", `a\b`, `..\b`} {
		if err := s.Put(ctx, k, newStream([]byte("x"))); err == nil {
			t.Fatalf("Put(%q) = nil, want an invalid key error", k)
		}
		if _, err := s.Stat(ctx, k); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Stat(%q) = %v, want an invalid key error", k, err)
		}
		if rc, err := s.Get(ctx, k); err == nil || errors.Is(err, store.ErrNotFound) {
			if err == nil {
				rc.Close()
			}
			t.Fatalf("Get(%q) = %v, want an invalid key error", k, err)
		}
		if err := s.Delete(ctx, k); err == nil {
			t.Fatalf("Delete(%q) = nil, want an invalid key error", k)
		}
	}
	for _, p := range []string{"/", "../", "a/../", `a\`} {
		if _, err := s.List(ctx, p); err == nil {
			t.Fatalf("List(%q) = nil error, want an invalid prefix error", p)
		}
	}
	wantList(t, s, "", "b")
	wantContent(t, s, "b", []byte("outside"))
}

func testString(t *testing.T, s store.Store) {
	name := s.String()
	if name == "" || strings.ContainsAny(name, "\n\r") {
		t.Fatalf("String() = %q, want a one-line name for operators", name)
	}
}
