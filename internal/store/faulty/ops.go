package faulty

import (
	"context"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	f, err := s.fault(ctx, Put, key)
	if err != nil {
		return err
	}
	if f != nil && f.altersStream() {
		r = f.stream(r)
	}
	return s.inner.Put(ctx, key, r)
}

func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, err := s.fault(ctx, Get, key)
	if err != nil {
		return nil, err
	}
	rc, err := s.inner.Get(ctx, key)
	if err != nil || f == nil || !f.altersStream() {
		return rc, err
	}
	return struct {
		io.Reader
		io.Closer
	}{f.stream(rc), rc}, nil
}

func (s *Store) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	if _, err := s.fault(ctx, Stat, key); err != nil {
		return store.ObjectInfo{}, err
	}
	return s.inner.Stat(ctx, key)
}

func (s *Store) List(ctx context.Context, prefix string) ([]store.ObjectInfo, error) {
	if _, err := s.fault(ctx, List, prefix); err != nil {
		return nil, err
	}
	return s.inner.List(ctx, prefix)
}

func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.fault(ctx, Delete, key); err != nil {
		return err
	}
	return s.inner.Delete(ctx, key)
}

// stream applies the fault to the bytes of r.
func (f *Fault) stream(r io.Reader) io.Reader {
	switch {
	case f.Truncate:
		return io.LimitReader(r, f.AfterBytes)
	case f.Corrupt:
		return &corruptAt{r: r, at: f.AfterBytes}
	default:
		return &failAfter{r: r, n: f.AfterBytes, err: f.Err}
	}
}

// corruptAt inverts the byte at offset at of r.
type corruptAt struct {
	r   io.Reader
	at  int64
	off int64
}

func (c *corruptAt) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if i := c.at - c.off; i >= 0 && i < int64(n) {
		p[i] ^= 0xff
	}
	c.off += int64(n)
	return n, err
}

// failAfter passes n bytes of r through, then fails with err.
type failAfter struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}
