package pipeline

import (
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// ParallelZstdWindow is the zstd window of a multi-threaded encoder. klauspost's parallel
// stream encoder cuts the input into jobs of four windows each (at least 512 KiB) and
// keeps up to about three jobs per thread in flight (queued, compressing, waiting to be
// written in order), so with the 8 MiB window of the single-threaded encoder two threads
// would hold well over 100 MiB. A 512 KiB window (zstd -1's) makes a job 2 MiB: two
// threads then cost about 20-30 MiB more heap than one, 1 MiB windows 40-50 MiB, at the
// same ratio on dump-like data (docs/benchmarks.md).
const ParallelZstdWindow = 512 << 10

// ZstdThreads is the number of encoder threads a run uses for a configured n: at most
// the cores the process may use (GOMAXPROCS, which follows the container's CPU limit),
// since more threads than cores only add the memory of their jobs; 0 means 1.
func ZstdThreads(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0)))
}

// NewZstdWriter is lifeboat's zstd encoder at level with threads encoder goroutines
// (already resolved, see ZstdThreads). One thread is the low-memory stream encoder with
// an 8 MiB window; more threads compress independent jobs in parallel (each job sees the
// end of the previous one for matches) into one ordinary zstd frame, which any zstd
// decoder, `zstd -d` included, reads.
func NewZstdWriter(w io.Writer, level zstd.EncoderLevel, threads int) (*zstd.Encoder, error) {
	if level == 0 {
		level = zstd.SpeedDefault
	}
	opts := []zstd.EOption{zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(max(threads, 1))}
	if threads > 1 {
		opts = append(opts, zstd.WithConcurrentBlocks(true), zstd.WithWindowSize(ParallelZstdWindow))
	}
	zw, err := zstd.NewWriter(w, opts...)
	if err != nil {
		return nil, fmt.Errorf("set up zstd compression (level %d, %d threads): %w", level, threads, err)
	}
	return zw, nil
}
