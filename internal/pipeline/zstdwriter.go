package pipeline

import (
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// ZstdWindow is the window (the history matches are looked for in) of the encoder with
// one thread. klauspost's default, 8 MiB, keeps about 16 MiB of history; on real pg_dump
// output and raft snapshots a 1 MiB window compresses within 1% of it and costs 4-7 MiB
// instead of 18-21 MiB of heap, which counts against a whole run's memory budget
// (docs/benchmarks.md). zstd -3 itself uses 2 MiB.
const ZstdWindow = 1 << 20

// ParallelZstdWindow is the window of an encoder with more threads. klauspost's parallel
// stream encoder cuts the input into jobs of four windows each (at least 512 KiB) and
// keeps up to about three jobs per thread in flight (queued, compressing, waiting to be
// written in order), each with an input and an output buffer: a 512 KiB window (zstd
// -1's) makes a job 2 MiB, and two threads cost about 20 MiB more heap than one on a
// dump and 40-55 MiB on an incompressible snapshot; 1 MiB windows double that, 8 MiB
// ones would cost well over 100 MiB.
const ParallelZstdWindow = 512 << 10

// ZstdThreads is the number of encoder threads a run uses for a configured n: at most
// the cores the process may use (GOMAXPROCS, which follows the container's CPU limit),
// since more threads than cores only add the memory of their jobs; 0 means 1.
func ZstdThreads(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0)))
}

// NewZstdWriter is lifeboat's zstd encoder at level with threads encoder goroutines
// (already resolved, see ZstdThreads). One thread is the stream encoder with a ZstdWindow;
// more threads compress jobs in parallel (each job sees the end of the previous one for
// matches) into one ordinary zstd frame, which any zstd decoder, `zstd -d` included,
// reads.
func NewZstdWriter(w io.Writer, level zstd.EncoderLevel, threads int) (*zstd.Encoder, error) {
	if level == 0 {
		level = zstd.SpeedDefault
	}
	opts := []zstd.EOption{zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(max(threads, 1)), zstd.WithWindowSize(ZstdWindow)}
	if threads > 1 {
		opts = append(opts, zstd.WithConcurrentBlocks(true), zstd.WithWindowSize(ParallelZstdWindow))
	}
	zw, err := zstd.NewWriter(w, opts...)
	if err != nil {
		return nil, fmt.Errorf("set up zstd compression (level %d, %d threads): %w", level, threads, err)
	}
	return zw, nil
}
