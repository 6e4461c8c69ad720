package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// testTimeout bounds every store call so a hung server fails the test instead of the run.
const testTimeout = 2 * time.Minute

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// randomBytes is deterministic so a failure reproduces.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b) // never fails
	return b
}

// stream hides everything but Read, so a store cannot learn the size in advance (a
// *bytes.Reader would let minio-go and io.Copy take shortcuts the pipeline never offers).
type stream struct{ r io.Reader }

func (s *stream) Read(p []byte) (int, error) { return s.r.Read(p) }

func newStream(data []byte) io.Reader {
	// Odd-sized chunks: a store must not assume Read fills its buffer.
	return &stream{r: &chunky{data: data, max: 7919}}
}

type chunky struct {
	data []byte
	max  int
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.max, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// failingStream returns data and then err instead of io.EOF.
type failingStream struct {
	data io.Reader
	err  error
}

func (f *failingStream) Read(p []byte) (int, error) {
	n, err := f.data.Read(p)
	if err == io.EOF {
		if n > 0 {
			return n, nil
		}
		return 0, f.err
	}
	return n, err
}

func put(t *testing.T, s store.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(testContext(t), key, newStream(data)); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
}

func get(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(testContext(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return data
}

func wantContent(t *testing.T, s store.Store, key string, want []byte) {
	t.Helper()
	got := get(t, s, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %d bytes sha256 %x, want %d bytes sha256 %x", key, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

func wantNotFound(t *testing.T, s store.Store, key string) {
	t.Helper()
	ctx := testContext(t)
	if _, err := s.Stat(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Stat(%q) = %v, want an error wrapping store.ErrNotFound", key, err)
	}
	rc, err := s.Get(ctx, key)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %v, want an error wrapping store.ErrNotFound", key, err)
	}
}

func listKeys(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	infos, err := s.List(testContext(t), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	keys := make([]string, 0, len(infos))
	for _, info := range infos {
		keys = append(keys, info.Key)
	}
	return keys
}

func wantList(t *testing.T, s store.Store, prefix string, want ...string) {
	t.Helper()
	got := listKeys(t, s, prefix)
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List(%q) = %q, want %q", prefix, got, want)
	}
}

// endless streams the same block forever: a source that outlives the Put.
type endless struct {
	block []byte
	off   int
}

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.block[e.off:])
	e.off = (e.off + n) % len(e.block)
	return n, nil
}
