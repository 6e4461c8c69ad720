package pipeline

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// zstdFrame is a zstd frame whose header declares a window of 2^windowLog bytes (no
// content size, so the window descriptor is present), followed by one raw last block.
func zstdFrame(windowLog int) []byte {
	return []byte{
		0x28, 0xb5, 0x2f, 0xfd, // magic
		0x00,                    // frame header descriptor: no content size, not single segment, no dictionary
		byte(windowLog-10) << 3, // window descriptor: exponent, mantissa 0
		0x09, 0x00, 0x00, 'x',   // last raw block of one byte
	}
}

// A frame that declares a huge window is refused with ErrZstdWindow before the decoder
// allocates it.
func TestZstdReaderRefusesHugeWindow(t *testing.T) {
	for _, windowLog := range []int{27, 31, 41} { // 128 MiB, 2 GiB, 2 TiB
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		zr, err := NewZstdReader(bytes.NewReader(zstdFrame(windowLog)))
		if err == nil {
			_, err = io.Copy(io.Discard, zr)
			zr.Close()
		}
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrZstdWindow) {
			t.Errorf("window 2^%d: err = %v, want ErrZstdWindow", windowLog, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
			t.Errorf("window 2^%d: allocated %d MiB while refusing it", windowLog, grew>>20)
		}
	}
	// The same frame with a small window decodes: the test's frame is sound.
	zr, err := NewZstdReader(bytes.NewReader(zstdFrame(20)))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if got, err := io.ReadAll(zr); err != nil || string(got) != "x" {
		t.Errorf("small window: %q, %v", got, err)
	}
}

// What lifeboat's encoder writes, at every level, and a window at the bound decode.
func TestZstdReaderReadsLifeboatStreams(t *testing.T) {
	data := bytes.Repeat([]byte("lifeboat zstd round trip "), 1<<16)
	for _, opts := range [][]zstd.EOption{
		{zstd.WithEncoderLevel(zstd.SpeedFastest)},
		{zstd.WithEncoderLevel(zstd.SpeedBestCompression)},
		{zstd.WithWindowSize(MaxZstdWindow)},
	} {
		var buf bytes.Buffer
		w, err := zstd.NewWriter(&buf, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		zr, err := NewZstdReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		zr.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("round trip: %d bytes, %v", len(got), err)
		}
	}
}
