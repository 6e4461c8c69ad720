package pipeline

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// MaxZstdWindow bounds the window (the history a zstd decoder keeps in memory) of the
// frames lifeboat decompresses. lifeboat's encoder uses 1 MiB (8 MiB before it was
// measured, docs/benchmarks.md), and the zstd CLI at most 8 MiB unless told --long or
// --ultra; a frame declaring more than this is
// refused before anything of that size is allocated. Without a bound the decoder would
// allocate what the frame header asks, up to gigabytes, so a crafted backup could make
// restore, verify or mirror run out of memory.
const MaxZstdWindow = 64 << 20

// ErrZstdWindow is a zstd frame declaring a window over MaxZstdWindow.
var ErrZstdWindow = fmt.Errorf("the zstd data declares a window larger than %d MiB, which lifeboat never writes: the object is damaged or not a lifeboat backup", MaxZstdWindow>>20)

// NewZstdReader is the one zstd decoder of lifeboat: one goroutine, low memory, and the
// window and decoded-size bounds above. Close it to free its buffers.
func NewZstdReader(r io.Reader) (*ZstdReader, error) {
	zr, err := zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(MaxZstdWindow),
		zstd.WithDecoderMaxMemory(MaxZstdWindow),
	)
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", explainZstd(err))
	}
	return &ZstdReader{zr: zr}, nil
}

// ZstdReader turns the decoder's size errors into ErrZstdWindow.
type ZstdReader struct{ zr *zstd.Decoder }

func (z *ZstdReader) Read(p []byte) (int, error) {
	n, err := z.zr.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("zstd: %w", explainZstd(err))
	}
	return n, err
}

// Close frees the decoder.
func (z *ZstdReader) Close() { z.zr.Close() }

func explainZstd(err error) error {
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return fmt.Errorf("%w (%w)", ErrZstdWindow, err)
	}
	return err
}
