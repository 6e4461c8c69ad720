//go:build unix

package ring

import (
	"sync"
	"syscall"
)

// The ring's bytes live outside the Go heap. In the heap, a 16 MiB ring would count as
// live data, and the collector lets the heap grow by as much again (GOGC=100) before it
// runs: the ring would cost twice its size. Mapped buffers are never unmapped — an HTTP
// client may still read a request body after its RoundTrip returned, and reading an
// unmapped page crashes the process — so they are kept for the next run of the same size
// (serve runs backups again and again), and a reader that is gone reads an error, never
// another run's bytes.
var (
	freeMu  sync.Mutex
	freeBuf = map[int][][]byte{}
)

func alloc(size int) []byte {
	freeMu.Lock()
	if bufs := freeBuf[size]; len(bufs) > 0 {
		b := bufs[len(bufs)-1]
		freeBuf[size] = bufs[:len(bufs)-1]
		freeMu.Unlock()
		return b
	}
	freeMu.Unlock()
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, size)
	}
	return b
}

func free(b []byte) {
	freeMu.Lock()
	defer freeMu.Unlock()
	freeBuf[len(b)] = append(freeBuf[len(b)], b)
}
