// Package holdback passes a stream through while holding back its end until the stream
// proved itself good. A backup read through pipeline.OpenBackup reports a bad checksum, a
// failed decryption or a broken zstd frame only when it reaches its end; a consumer that
// applies what it reads (pg_restore --single-transaction, Vault's snapshot restore) must
// not see a complete input before that verdict, or it could commit a backup that is then
// found bad. Reader gives the consumer everything but the last bytes at once and those
// last bytes only after the source returned io.EOF, that is after every check passed; on
// any other error the consumer gets the error instead, with its input cut short.
package holdback

import (
	"errors"
	"io"
	"sync"
)

// Size is how much of a stream's end Reader holds back by default: 64 KiB.
//
// A consumer finishes only once it has read the last byte its format needs. pg_restore
// reads a custom-format archive up to the end marker of its last data block, which is
// the archive's last bytes; Vault reads the request body to its end and then checks the
// gzip trailer and the tar archive inside. Withholding any suffix therefore stops both
// from finishing; 64 KiB leaves a wide margin for formats whose meaningful end lies
// slightly before the stream's end (tar's zero blocks and record padding, at most 10 KiB;
// a gzip trailer, 8 bytes), costs 64 KiB of memory, and delays nothing measurable: the
// consumer waits only for the source's last 64 KiB to arrive and be checked.
const Size = 64 << 10

// chunk is how much Reader reads from its source at a time, beyond the held-back bytes.
const chunk = 64 << 10

// Reader is a stream whose last n bytes are released only after its source ended with
// io.EOF. Its Read is for one goroutine; Failed and Verified may be called from any.
type Reader struct {
	src        io.Reader
	n          int
	buf        []byte
	start, end int // buf[start:end] is read from src and not yet returned

	mu  sync.Mutex
	err error // src's first error other than io.EOF
	eof bool  // src returned io.EOF: everything was checked
}

// New holds back the last n bytes of src (n > 0; Size is the usual amount).
func New(src io.Reader, n int) *Reader {
	if n <= 0 {
		n = Size
	}
	return &Reader{src: src, n: n, buf: make([]byte, n+chunk)}
}

// Read returns the bytes that are more than n away from what was read from the source so
// far, or, once the source ended cleanly, the rest. A source error is returned as soon
// as it happens and from then on, and the held-back bytes are never released.
func (h *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if err := h.Failed(); err != nil {
			return 0, err
		}
		eof := h.Verified()
		ready := h.end - h.start
		if !eof {
			ready -= h.n
		}
		if ready > 0 {
			k := copy(p, h.buf[h.start:h.start+min(ready, len(p))])
			h.start += k
			return k, nil
		}
		if eof {
			return 0, io.EOF
		}
		h.fill()
	}
}

// fill reads once from the source into the free end of buf, first moving the held bytes
// to its front when less than half a chunk is free, so that no read is small. fill is
// called only while at most n bytes are held, so the move leaves a whole chunk free.
func (h *Reader) fill() {
	if len(h.buf)-h.end < chunk/2 {
		h.end = copy(h.buf, h.buf[h.start:h.end])
		h.start = 0
	}
	k, err := h.src.Read(h.buf[h.end:])
	h.end += k
	switch {
	case errors.Is(err, io.EOF):
		h.mu.Lock()
		h.eof = true
		h.mu.Unlock()
	case err != nil:
		h.mu.Lock()
		h.err = err
		h.mu.Unlock()
	}
}

// Failed is the source's error, nil while it has none (or ended cleanly).
func (h *Reader) Failed() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Verified reports whether the source ended with io.EOF, after which the held-back bytes
// are released.
func (h *Reader) Verified() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.eof
}
