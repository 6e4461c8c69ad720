// Package faulty wraps a store.Store to inject faults, for tests of what sits above stores
// (the pipeline, the catalog, restore): a destination that refuses, fills up, dies
// mid-upload, truncates or corrupts an object, breaks a download, or hangs until the test
// lets it go. The shape follows kopia's
// internal/blobtesting/faulty.go. The wrapped store is real: faults happen around it.
package faulty

import (
	"context"
	"fmt"
	"path"
	"sync"
	"syscall"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// Op names a Store method.
type Op string

// The operations a fault can target.
const (
	Put    Op = "put"
	Get    Op = "get"
	Stat   Op = "stat"
	List   Op = "list"
	Delete Op = "delete"
)

// ErrNoSpace is a full disk, as a file destination would see it: errors.Is(err,
// syscall.ENOSPC) holds. Use it with AfterBytes to fill up mid-upload.
var ErrNoSpace error = &pathError{op: "write", err: syscall.ENOSPC}

type pathError struct {
	op  string
	err error
}

func (e *pathError) Error() string { return "faulty: injected " + e.op + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// Fault describes calls to fail or hold.
type Fault struct {
	Op Op
	// Key selects the calls by key (by prefix for List): "" matches all, otherwise the exact
	// key or a path.Match pattern such as "*/*/manifest.json".
	Key string
	// Times is how many matching calls the fault affects; 0 means all of them.
	Times int
	// Block, when set, holds matching calls until it is closed or their context ends.
	Block <-chan struct{}
	// AfterBytes, for Put and Get, lets that many bytes through before the stream fails
	// with Err: the wrapped store sees a Put whose reader fails, the caller of Get a
	// truncated read.
	AfterBytes int64
	// Err is what matching calls (or their streams, with AfterBytes) fail with. With Block
	// and no Err, a call is only delayed.
	Err error
	// Truncate, for Put and Get, ends the stream cleanly after AfterBytes: a short object
	// that reads as whole, which only a size or checksum check catches. Err is unused.
	Truncate bool
	// Corrupt, for Put and Get, inverts the byte at offset AfterBytes and passes the rest
	// through: bit rot that keeps the size, which only a checksum catches. Err is unused.
	Corrupt bool
}

// altersStream reports whether the fault acts on a Put's or Get's bytes, not on the call.
func (f *Fault) altersStream() bool { return f.Err != nil || f.Truncate || f.Corrupt }

func (f *Fault) matches(op Op, key string) bool {
	if f.Op != op {
		return false
	}
	if f.Key == "" || f.Key == key {
		return true
	}
	ok, _ := path.Match(f.Key, key) // a malformed pattern matches only itself, above
	return ok
}

// Store is a store.Store that injects the faults added to it.
type Store struct {
	inner store.Store

	mu     sync.Mutex
	faults []*Fault
	calls  map[Op]int
}

var _ store.Store = (*Store)(nil)

// New wraps inner; with no faults added it behaves exactly like inner.
func New(inner store.Store) *Store {
	return &Store{inner: inner, calls: map[Op]int{}}
}

// Add injects a fault. Faults are tried in the order they were added; a call meets at most
// one of them.
func (s *Store) Add(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Calls counts the calls of op made so far, faulted or not.
func (s *Store) Calls(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// String names the wrapped store: messages in tests look like production ones.
func (s *Store) String() string { return s.inner.String() }

// fault counts the call and returns the fault it meets, if any, after any Block.
func (s *Store) fault(ctx context.Context, op Op, key string) (*Fault, error) {
	s.mu.Lock()
	s.calls[op]++
	var hit *Fault
	for i, f := range s.faults {
		if !f.matches(op, key) {
			continue
		}
		copied := *f
		hit = &copied
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		break
	}
	s.mu.Unlock()
	if hit == nil {
		return nil, nil
	}
	if hit.Block != nil {
		select {
		case <-hit.Block:
		case <-ctx.Done():
			return nil, fmt.Errorf("faulty: %s %s held until the context ended: %w", op, key, ctx.Err())
		}
	}
	if hit.Err != nil && hit.AfterBytes == 0 && !hit.Truncate && !hit.Corrupt {
		return nil, fmt.Errorf("%s %s in %s: %w", op, key, s, hit.Err)
	}
	return hit, nil
}
