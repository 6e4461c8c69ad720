package bench

import (
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// checkAndClear makes sure the run just measured delivered a whole snapshot to each of
// bkts (a benchmark of a pipeline that silently failed would look fast), then empties
// them so that iterations do not fill the disk.
func (e *benchEnv) checkAndClear(b *testing.B, bkts []string) {
	b.Helper()
	// Snapshots of the same data differ by a few KiB between runs.
	atLeast := e.snapshotBytes * 9 / 10
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, bucket := range bkts {
		if largest := emptyBucket(ctx, b, e.minio, bucket); largest < atLeast {
			b.Fatalf("bucket %s: largest object %d bytes, want >= %d", bucket, largest, atLeast)
		}
	}
}

// emptyBucket deletes every object in bucket and returns the size of the largest.
func emptyBucket(ctx context.Context, b *testing.B, m *testenv.MinIO, bucket string) int64 {
	b.Helper()
	c := m.Client()
	var largest int64
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			b.Fatalf("list %s: %v", bucket, obj.Err)
		}
		largest = max(largest, obj.Size)
		if err := c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			b.Fatalf("empty %s: %v", bucket, err)
		}
	}
	return largest
}
