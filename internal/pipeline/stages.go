package pipeline

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// Encryption encrypts backups to age recipients. Only public keys live where backups are
// taken; identities are needed only where restores run.
type Encryption struct {
	Recipients   []age.Recipient
	Fingerprints []string // the recipients' public keys as written in the config, for the manifest
}

// countingHash is the last stage: sha256 and size of exactly the bytes that are stored.
type countingHash struct {
	w    io.Writer
	h    hash.Hash
	size int64
}

func newCountingHash(w io.Writer) *countingHash { return &countingHash{w: w, h: sha256.New()} }

func (c *countingHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.size += int64(n)
	return n, err
}

// stack is the writer chain source bytes go into: [zstd] -> [age] -> hash -> fan-out.
// Close flushes the stages in order; it does not end the fan-out (the caller decides
// between commit and abort after the source's own checks).
type stack struct {
	head    io.Writer
	closers []io.Closer // outermost first
}

func buildStack(out io.Writer, compress bool, level zstd.EncoderLevel, threads int, enc *Encryption) (*stack, error) {
	st := &stack{head: out}
	if enc != nil && len(enc.Recipients) > 0 {
		w, err := age.Encrypt(st.head, enc.Recipients...)
		if err != nil {
			return nil, fmt.Errorf("set up age encryption: %w", err)
		}
		st.head = w
		st.closers = append([]io.Closer{w}, st.closers...)
	}
	if compress {
		w, err := NewZstdWriter(st.head, level, threads)
		if err != nil {
			return nil, err
		}
		st.head = w
		st.closers = append([]io.Closer{w}, st.closers...)
	}
	return st, nil
}

func (s *stack) Write(p []byte) (int, error) { return s.head.Write(p) }

func (s *stack) Close() error {
	for _, c := range s.closers {
		if err := c.Close(); err != nil {
			return err
		}
	}
	return nil
}

// dataExt is the stored object's extension after the applied stages.
func dataExt(base string, compress, encrypt bool) string {
	ext := base
	if compress {
		ext += ".zst"
	}
	if encrypt {
		ext += ".age"
	}
	return ext
}
