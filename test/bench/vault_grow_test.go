package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// blobBytes is what one written secret adds to a snapshot: 192 KiB of random bytes
// become 256 KiB of base64, which the barrier encrypts, so gzip cannot shrink it.
const blobBytes = 256 << 10

// growVault writes secrets until a raft snapshot is at least wantMiB and returns the
// snapshot's size. It measures instead of trusting blobBytes, because raft and barrier
// overheads differ between flavors and versions.
func growVault(b *testing.B, c *vaultapi.Client, wantMiB int) int64 {
	b.Helper()
	c.SetClientTimeout(10 * time.Minute)
	if err := c.Sys().Mount("bulk", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		b.Fatalf("mount bulk/: %v", err)
	}
	want := int64(wantMiB) << 20
	written := 0
	for {
		size := snapshotSize(b, c)
		if size >= want {
			return size
		}
		missing := int((want-size)/blobBytes) + 1
		if err := writeBlobs(c, written, missing); err != nil {
			b.Fatal(err)
		}
		written += missing
	}
}

// writeBlobs writes n secrets from 8 goroutines: one at a time, 200 MiB takes minutes
// of round trips on a 2-core machine.
func writeBlobs(c *vaultapi.Client, first, n int) error {
	return writeInParallel(first, n, func(i int) error {
		buf := make([]byte, blobBytes*3/4)
		_, _ = rand.Read(buf)
		data := map[string]any{"v": base64.StdEncoding.EncodeToString(buf)}
		if _, err := c.Logical().Write(fmt.Sprintf("bulk/blob-%05d", i), data); err != nil {
			return fmt.Errorf("grow vault: write bulk/blob-%05d: %w", i, err)
		}
		return nil
	})
}

// writeInParallel calls write for first..first+n-1 from 8 goroutines (Vault takes writes
// in parallel much faster than in turn) and returns the first error, after which no new
// write starts.
func writeInParallel(first, n int, write func(i int) error) error {
	next := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := write(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := first; i < first+n; i++ {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// countWriter counts and discards.
type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }

func snapshotSize(b *testing.B, c *vaultapi.Client) int64 {
	b.Helper()
	var n countWriter
	if err := c.Sys().RaftSnapshotWithContext(context.Background(), &n); err != nil {
		b.Fatalf("measure the snapshot: %v", err)
	}
	return int64(n)
}
