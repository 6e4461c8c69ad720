package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// checkAndClear makes sure the run just measured delivered a whole snapshot to the
// directory and, with s3, to both buckets (a benchmark of a pipeline that silently failed
// would look fast), then deletes it so that iterations do not fill the disk.
func (e *benchEnv) checkAndClear(b *testing.B, s3 bool) {
	b.Helper()
	// Snapshots of the same data differ by a few KiB between runs.
	atLeast := e.snapshotBytes * 9 / 10
	var largest int64
	err := filepath.WalkDir(e.localDir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			largest = max(largest, info.Size())
		}
		return err
	})
	if err != nil || largest < atLeast {
		b.Fatalf("directory destination: largest file %d bytes, want >= %d (%v)", largest, atLeast, err)
	}
	if err := os.RemoveAll(e.localDir); err != nil {
		b.Fatal(err)
	}
	if err := os.Mkdir(e.localDir, 0o700); err != nil {
		b.Fatal(err)
	}
	if !s3 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, bucket := range buckets {
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
