// Package ctxio lets stores stop a streaming copy when its context ends, and tell a failing
// source apart from a failing destination.
package ctxio

import (
	"context"
	"io"
)

// Reader reads from an underlying reader until its context is done. It checks the context
// before every Read, so a copy stops within one chunk of a cancellation; a Read that is
// already blocked in the underlying reader is not interrupted (the pipeline closes its pipes
// on cancellation for that).
type Reader struct {
	ctx context.Context
	r   io.Reader
	err error
}

// NewReader wraps r. It deliberately hides r's Len, Seek and WriteTo so a store streams
// with an unknown size instead of taking a shortcut.
func NewReader(ctx context.Context, r io.Reader) *Reader {
	return &Reader{ctx: ctx, r: r}
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return 0, err
	}
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// Err is the first error other than io.EOF that Read returned: the source's or the
// context's, never the destination's. Stores use it to say which side of a copy failed.
func (r *Reader) Err() error { return r.err }
