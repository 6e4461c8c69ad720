// Package store defines where backups are kept. A Store is a flat key space of immutable
// objects; everything lifeboat knows about layout lives in package catalog, not here.
//
// The contract every implementation keeps (and storetest checks):
//   - Put is atomic: a reader sees the whole object under key or nothing. A Put that fails
//     or whose context is cancelled leaves no object (and no partial object) under key.
//   - Put streams: the size is not known in advance and memory stays bounded.
//   - Read-after-write: once Put returns nil, Get/Stat/List see the object.
//   - Get and Stat of a missing key return an error for which errors.Is(err, ErrNotFound).
//   - Delete of a missing key is not an error (prune may race with another prune).
//   - Keys use '/' as separator and never start with '/'.
package store

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"time"
)

// ErrNotFound is wrapped by Get and Stat when the key does not exist.
var ErrNotFound = errors.New("object not found")

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key      string
	Size     int64
	Modified time.Time
}

// Store is one destination's object space. Keys are relative to the destination's prefix.
type Store interface {
	// Put stores everything read from r under key, replacing any object of that name.
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens the object for reading. The caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat returns the object's size and modification time.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List returns every object whose key starts with prefix, in lexical key order.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes the object; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store for operators, e.g. "s3://bucket/prefix" or "file:///backups".
	String() string
}

// TempSweeper is implemented by stores whose Put stages data in temporary objects that a
// crashed process leaves behind, invisible to List (the file store). Prune calls it so that
// such leftovers do not fill a volume over time. S3 needs none: an object appears only when
// its upload completes.
type TempSweeper interface {
	// SweepTemp removes the temporary objects below prefix last modified before olderThan
	// (or, with dryRun, only reports them) and returns their names relative to the store.
	SweepTemp(ctx context.Context, prefix string, olderThan time.Time, dryRun bool) ([]string, error)
}

// Locker is implemented by stores that can write objects under a retention lock (S3 object
// lock): until the lock ends, nobody (lifeboat included) can delete or overwrite the
// object. Prune asks it so that a locked backup is kept and reported rather than failing
// half way; the store itself still refuses a delete that comes too early.
type Locker interface {
	// CheckLock makes sure the destination can hold locked objects (an S3 bucket created
	// with object lock enabled), so a backup fails up front with a message saying how to
	// fix it. Nil when no lock is configured.
	CheckLock(ctx context.Context) error
	// RetainUntil returns when the lock on the object under key ends; the zero time when
	// the object is not locked, no lock is configured, or the object no longer exists.
	RetainUntil(ctx context.Context, key string) (time.Time, error)
}

// SortByKey puts a listing in the contract's lexical key order: object stores list in
// UTF-8 byte order, but not every compatible server, emulator or file system does.
func SortByKey(objs []ObjectInfo) {
	slices.SortFunc(objs, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
}

// SectionReader is a stream whose bytes a store may take in sections straight from the
// producer's buffer instead of copying them into its own: the pipeline hands every Put
// one (its shared ring), so a store that uploads in parts (S3 multipart) needs no part
// buffer of its own, and memory stays one ring whatever the number of destinations.
// Stores that do not use sections read it as a plain io.Reader; a Put uses one or the
// other, never both.
type SectionReader interface {
	io.Reader
	// NextSection returns the next n bytes of the stream as a Section, once they have
	// been produced; fewer than n only at the end of the stream, and io.EOF when nothing
	// is left. The bytes stay in the producer's buffer until the section is released.
	NextSection(ctx context.Context, n int64) (Section, error)
	// StreamSection returns the next n bytes of the stream as a section at once, before
	// they are all produced: its reads wait for them, so an upload of known length can
	// start while its bytes are still being read from the source. If the stream ends
	// inside it, its reads fail with ErrShortSection and Ended says how many bytes it
	// has. io.EOF when the stream has ended and nothing is left.
	StreamSection(ctx context.Context, n int64) (StreamedSection, error)
	// Capacity is the most bytes the reader's unreleased sections and the next one may
	// span together: a store asking for more waits forever, so it holds at most
	// Capacity/n-1 sections while it asks for the next.
	Capacity() int64
}

// ErrShortSection is what reading a StreamedSection returns when the stream ended
// inside it.
var ErrShortSection = errors.New("the stream ended inside this section")

// StreamedSection is a section handed out before its bytes are produced.
type StreamedSection interface {
	io.ReadSeeker
	// Size is the length asked for.
	Size() int64
	// Ended reports, once the stream has ended, how many bytes the section has; ok is
	// false while the stream goes on.
	Ended() (n int64, ok bool)
	// Release gives the bytes back to the producer; the section must not be read after.
	Release()
}

// Section is a part of a stream held for a store: readable, and re-readable from any
// offset (so an HTTP client can retry its upload), until Release.
type Section interface {
	io.ReadSeeker
	io.ReaderAt
	Size() int64
	// Release gives the bytes back to the producer; the section must not be read after.
	Release()
}

// BufferNeeder is implemented by stores that take sections of the producer's buffer (S3
// parts, GCS chunks, Azure blocks): BufferNeed is how much of it they need to upload at
// full speed, and the producer makes its buffer at least that big.
type BufferNeeder interface {
	BufferNeed() int64
}
