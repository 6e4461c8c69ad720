package storetest

import (
	"context"
	"io"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// What the fault tests of every network store (s3, gcs, azure) share: the calls they run
// against a destination that is broken, and the readers that break a Put midway.

// Context bounds a store call in a test so that a hung server fails the test instead of
// the run.
func Context(t *testing.T) context.Context { return testContext(t) }

// Operation is one call of the Store interface (or a store's own Check).
type Operation struct {
	Name string
	Run  func(ctx context.Context, s store.Store) error
}

// Operations are every call a fault test makes against a broken destination: Check (the
// store's own method), then Put of putSize zero bytes (more than one part or block, so
// the streaming path is taken), List, Stat, Get and Delete of one key.
func Operations(putSize int64) []Operation {
	const key = "vault/id/data.snap"
	return []Operation{
		{"Check", func(ctx context.Context, s store.Store) error {
			return s.(interface{ Check(context.Context) error }).Check(ctx)
		}},
		{"Put", func(ctx context.Context, s store.Store) error {
			return s.Put(ctx, key, io.LimitReader(Zeros{}, putSize))
		}},
		{"List", func(ctx context.Context, s store.Store) error { _, err := s.List(ctx, "vault/"); return err }},
		{"Stat", func(ctx context.Context, s store.Store) error { _, err := s.Stat(ctx, key); return err }},
		{"Get", func(ctx context.Context, s store.Store) error {
			rc, err := s.Get(ctx, key)
			if err == nil {
				rc.Close()
			}
			return err
		}},
		{"Delete", func(ctx context.Context, s store.Store) error { return s.Delete(ctx, key) }},
	}
}

// Zeros is an endless stream of zero bytes.
type Zeros struct{}

func (Zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// ErrReader fails every read with Err.
type ErrReader struct{ Err error }

func (e ErrReader) Read([]byte) (int, error) { return 0, e.Err }

// HookAfter streams R and calls Hook once, after N bytes were read (a server killed or a
// context cancelled in the middle of an upload), and keeps streaming.
type HookAfter struct {
	R    io.Reader
	N    int
	Hook func()
}

func (h *HookAfter) Read(p []byte) (int, error) {
	n, err := h.R.Read(p)
	if h.N -= n; h.N <= 0 && h.Hook != nil {
		h.Hook()
		h.Hook = nil
	}
	return n, err
}
