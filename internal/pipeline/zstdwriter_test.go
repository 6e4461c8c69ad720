package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// dumpLike is n bytes shaped like a pg_dump of a workflow table: compressible rows with
// random ids in them.
func dumpLike(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d\twf-%08x\targo\t{\"phase\":\"Succeeded\",\"nodes\":{\"n%d\":{\"message\":\"%x\"}}}\n",
			i, r.Uint32(), r.IntN(1000), r.Uint64())
	}
	return b.Bytes()[:n]
}

// Every thread count writes one ordinary zstd frame: lifeboat's decoder and the zstd CLI
// (the documented way to restore by hand) both get the input back.
func TestZstdWriterThreadsDecodeEverywhere(t *testing.T) {
	cli := testenv.ZstdCLI(t)
	data := dumpLike(7<<20 + 12345) // several 2 MiB jobs and a partial one
	for _, threads := range []int{1, 2, 3} {
		for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
			t.Run(fmt.Sprintf("threads=%d/level=%d", threads, level), func(t *testing.T) {
				var out bytes.Buffer
				zw, err := NewZstdWriter(&out, level, threads)
				if err != nil {
					t.Fatal(err)
				}
				// Odd-sized writes, as the pipeline's reads from a source are.
				for rest := data; len(rest) > 0; {
					n := min(len(rest), 300_001)
					if _, err := zw.Write(rest[:n]); err != nil {
						t.Fatal(err)
					}
					rest = rest[n:]
				}
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				if out.Len() >= len(data)/2 {
					t.Errorf("compressed %d bytes to %d: the data should at least halve", len(data), out.Len())
				}

				zr, err := NewZstdReader(bytes.NewReader(out.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(zr)
				zr.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("lifeboat's decoder: %d bytes back of %d (%v)", len(got), len(data), err)
				}

				cmd := exec.Command(cli, "-d", "-q", "-c")
				cmd.Stdin = bytes.NewReader(out.Bytes())
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				got, err = cmd.Output()
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("zstd -d: %d bytes back of %d (%v: %s)", len(got), len(data), err, stderr.String())
				}
			})
		}
	}
}

// A run never uses more encoder threads than the cores the process may use.
func TestZstdThreads(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	for _, tc := range []struct{ in, want int }{
		{0, 1}, {1, 1}, {-3, 1}, {procs, procs}, {procs + 5, procs},
	} {
		if got := ZstdThreads(tc.in); got != tc.want {
			t.Errorf("ZstdThreads(%d) = %d with GOMAXPROCS %d, want %d", tc.in, got, procs, tc.want)
		}
	}
	prev := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prev)
	if got := ZstdThreads(2); got != 2 {
		t.Errorf("ZstdThreads(2) with 4 cores = %d, want 2", got)
	}
	runtime.GOMAXPROCS(1)
	if got := ZstdThreads(2); got != 1 {
		t.Errorf("ZstdThreads(2) with 1 core = %d, want 1", got)
	}
}
