package holdback_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/lifeboat-backup/lifeboat/internal/holdback"
)

func data(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// failing returns data, then err instead of io.EOF: a backup whose checksum fails at its
// end.
type failing struct {
	r   io.Reader
	err error
}

func (f *failing) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		err = f.err
	}
	return n, err
}

var errBad = errors.New("checksum mismatch")

func TestReader(t *testing.T) {
	const hold = 1000
	sizes := []int{0, 1, hold - 1, hold, hold + 1, 3*hold + 7, 200 << 10}
	wraps := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+err": iotest.DataErrReader,
	}
	for _, size := range sizes {
		for name, wrap := range wraps {
			want := data(size)
			t.Run(name, func(t *testing.T) {
				// A good stream comes through whole and is then verified.
				h := holdback.New(wrap(bytes.NewReader(want)), hold)
				got, err := io.ReadAll(h)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("size %d: got %d bytes, err %v; want %d bytes", size, len(got), err, size)
				}
				if !h.Verified() || h.Failed() != nil {
					t.Fatalf("size %d: verified %v, failed %v after a clean end", size, h.Verified(), h.Failed())
				}

				// A stream failing at its end never releases its last hold bytes.
				h = holdback.New(wrap(&failing{r: bytes.NewReader(want), err: errBad}), hold)
				got, err = io.ReadAll(h)
				if !errors.Is(err, errBad) || !errors.Is(h.Failed(), errBad) || h.Verified() {
					t.Fatalf("size %d: err %v, failed %v, verified %v; want the source's error", size, err, h.Failed(), h.Verified())
				}
				if len(got) > max(0, size-hold) || !bytes.Equal(got, want[:len(got)]) {
					t.Fatalf("size %d: %d bytes came through before the error, want at most %d, in order", size, len(got), max(0, size-hold))
				}
				// And the error stays.
				if n, err := h.Read(make([]byte, 10)); n != 0 || !errors.Is(err, errBad) {
					t.Fatalf("read after the error: %d, %v", n, err)
				}
			})
		}
	}
}

// TestReaderStreams checks that the bytes before the held-back end arrive while the
// source is still open: the consumer works as the backup is read, not after.
func TestReaderStreams(t *testing.T) {
	const hold = 4 << 10
	want := data(64 << 10)
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write(want) }() // the source stays open: no EOF yet
	h := holdback.New(pr, hold)
	got := make([]byte, len(want)-hold)
	if _, err := io.ReadFull(h, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want[:len(got)]) || h.Verified() {
		t.Fatalf("the bytes before the held-back end differ, or verified %v before the end", h.Verified())
	}
	pw.Close()
	rest, err := io.ReadAll(h)
	if err != nil || !bytes.Equal(rest, want[len(got):]) {
		t.Fatalf("the held-back end: %d bytes, %v", len(rest), err)
	}
}

func TestIOTest(t *testing.T) {
	want := data(300 << 10)
	if err := iotest.TestReader(holdback.New(bytes.NewReader(want), holdback.Size), want); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkReader is the cost holdback adds to a restore: one more copy of each byte.
func BenchmarkReader(b *testing.B) {
	src := data(8 << 20)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := io.Copy(io.Discard, holdback.New(bytes.NewReader(src), holdback.Size)); err != nil {
			b.Fatal(err)
		}
	}
}
