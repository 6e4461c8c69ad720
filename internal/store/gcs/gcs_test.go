package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// newTestStore opens a store on g with the smallest chunk size, so that the conformance
// suite's 6 and 12 MiB objects take many chunks and the multi-request paths run.
func newTestStore(t *testing.T, g *testenv.FakeGCS, o Options) *Store {
	t.Helper()
	if o.Endpoint == "" {
		o.Endpoint = g.URL()
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = ChunkAlign
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("lifeboat")
	var n atomic.Int64
	t.Run("Prefix", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t, g, Options{Bucket: "lifeboat", Prefix: fmt.Sprintf("/team/conformance-%d/", n.Add(1))})
		})
	})
	t.Run("BucketRoot", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			bucket := fmt.Sprintf("root-%d", n.Add(1))
			g.MakeBucket(bucket)
			return newTestStore(t, g, Options{Bucket: bucket})
		})
	})
	t.Run("DefaultChunkSize", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t, g, Options{Bucket: "lifeboat", Prefix: fmt.Sprintf("big-chunks-%d", n.Add(1)), ChunkSize: DefaultChunkSize})
		})
	})
}

// Objects beside the prefix, including ones whose names start with the prefix's text, are
// invisible to the store and survive everything it does.
func TestPrefixIsolation(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("shared")
	ctx := storetest.Context(t)
	// No object named exactly "p": the emulator's filesystem backend keeps "p/..." in a
	// directory of that name (GCS would not mind).
	outside := []string{"other/x", "p2/x", "px", "top"}
	for _, name := range outside {
		g.PutObject("shared", name, []byte(name))
	}
	// A name under the prefix that no key can address: a folder placeholder made by the
	// console. (Names like "p/a//b" cannot be tested: the emulator's filesystem backend
	// stores them as "p/a/b".)
	for _, name := range []string{"p/dir/"} {
		g.PutObject("shared", name, nil)
	}
	s := newTestStore(t, g, Options{Bucket: "shared", Prefix: "p"})
	if err := s.Put(ctx, "mine", strings.NewReader("mine")); err != nil {
		t.Fatal(err)
	}
	infos, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != "mine" {
		t.Fatalf("List = %+v, want only the store's own object", infos)
	}
	if names := g.ObjectNames("shared"); !slices.Contains(names, "p/mine") {
		t.Fatalf("the store's object is not at p/mine: the bucket holds %q", names)
	}
	for _, key := range []string{"mine", "top", "x"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	names := g.ObjectNames("shared")
	for _, name := range outside {
		if !slices.Contains(names, name) {
			t.Fatalf("object %s outside the prefix is gone: the bucket holds %q", name, names)
		}
	}
	if slices.Contains(names, "p/mine") {
		t.Fatalf("p/mine survived its Delete: %q", names)
	}
	if got, want := s.String(), "gs://shared/p ("+g.Endpoint+")"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// A failed or cancelled Put leaves nothing in the bucket, not even under another name, and
// an object it was replacing keeps its old content.
func TestFailedPutLeavesNoObject(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("abort")
	s := newTestStore(t, g, Options{Bucket: "abort", Prefix: "p"})
	boom := errors.New("source broke")
	if err := s.Put(storetest.Context(t), "vault/old/data.snap", strings.NewReader("old backup")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(storetest.Context(t))
	defer cancel()
	// Ten chunks and a half: several chunks are sent before the failure.
	const size = 10*ChunkAlign + ChunkAlign/2
	tests := []struct {
		name string
		key  string
		ctx  context.Context
		r    io.Reader
		want error
	}{
		{"reader fails", "vault/id/data.snap", storetest.Context(t), io.MultiReader(io.LimitReader(storetest.Zeros{}, size), storetest.ErrReader{Err: boom}), boom},
		{"context cancelled", "vault/id/data.snap", ctx, &storetest.HookAfter{R: storetest.Zeros{}, N: size, Hook: cancel}, context.Canceled},
		{"overwrite fails", "vault/old/data.snap", storetest.Context(t), io.MultiReader(io.LimitReader(storetest.Zeros{}, size), storetest.ErrReader{Err: boom}), boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Put(tc.ctx, tc.key, tc.r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put = %v, want %v", err, tc.want)
			}
			if names := g.ObjectNames("abort"); !slices.Equal(names, []string{"p/vault/old/data.snap"}) {
				t.Fatalf("bucket after a failed Put holds %q, want only the older object", names)
			}
			wantContent(t, s, "vault/old/data.snap", "old backup")
		})
	}
}

// The chunk is the memory a Put holds; GCS wants multiples of 256 KiB.
func TestChunkSizes(t *testing.T) {
	for _, tc := range []struct {
		size int
		want int
		err  string
	}{
		{0, DefaultChunkSize, ""},
		{ChunkAlign, ChunkAlign, ""},
		{64 << 20, 64 << 20, ""},
		{1000, 0, "not a positive multiple of 256 KiB"},
		{-ChunkAlign, 0, "not a positive multiple of 256 KiB"},
		{2 << 30, 0, "above 1 GiB"},
	} {
		got, err := Options{ChunkSize: tc.size}.chunkSize()
		if got != tc.want || (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("chunkSize(%d) = %d, %v; want %d, %q", tc.size, got, err, tc.want, tc.err)
		}
	}
}

func wantContent(t *testing.T, s *Store, key, want string) {
	t.Helper()
	rc, err := s.Get(storetest.Context(t), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if data, err := io.ReadAll(rc); err != nil || string(data) != want {
		t.Fatalf("Get(%q) = %q, %v; want %q", key, data, err, want)
	}
}
