// Package mirror copies the backups one destination lacks from another: the stored bytes
// as they are, checked against the manifest on the way, committed the way a run commits.
package mirror

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// Copy is the outcome of copying one backup (or, in a dry run, the intent to).
type Copy struct {
	Backup catalog.Backup
	Took   time.Duration
	Err    error
}

// Source copies every committed backup of source in from that to does not hold
// committed, oldest first so the newest lands last, and calls each after every copy. A
// damaged copy in to is copied over; a damaged copy in from cannot be copied. The
// damaged copies of both are returned for the caller to report; the error is for a
// destination that could not be listed, when nothing was copied.
func Source(ctx context.Context, from, to pipeline.Destination, source string, trust *catalog.Trust, dryRun bool, each func(Copy)) ([]inventory.Damaged, error) {
	have := inventory.List(ctx, to, source, trust)
	if have.Err != nil {
		return nil, have.Err
	}
	// A backup trust refuses (forged, unsigned) is not spread to more destinations.
	want := inventory.List(ctx, from, source, trust)
	if want.Err != nil {
		return nil, want.Err
	}
	present := map[string]bool{}
	for _, b := range have.Backups {
		present[b.ID] = true
	}
	for i := len(want.Backups) - 1; i >= 0; i-- {
		b := want.Backups[i]
		if present[b.ID] {
			continue
		}
		c := Copy{Backup: b}
		if !dryRun {
			start := time.Now()
			c.Err = copyBackup(ctx, from, to, b.Manifest)
			c.Took = time.Since(start)
		}
		each(c)
	}
	return append(want.Damaged, have.Damaged...), nil
}

// copyBackup streams the stored bytes unchanged (still encrypted, if they were), checking
// them against the manifest on the way: a mismatch fails the upload before it completes,
// so a corrupt source copy is never committed in the target.
func copyBackup(ctx context.Context, from, to pipeline.Destination, m *catalog.Manifest) error {
	data, err := checked(ctx, from, m.DataObjectKey(), m.SHA256, m.Size)
	if err != nil {
		return err
	}
	err = to.Store.Put(ctx, m.DataObjectKey(), data)
	data.Close()
	if err != nil {
		return fmt.Errorf("upload to %s: %w", to.Name, err)
	}
	err = pipeline.CommitBackup(ctx, to.Store, m, nil, func(x catalog.ExtraObject) (io.ReadCloser, error) {
		return checked(ctx, from, m.ExtraKey(x.Name), x.SHA256, x.Size)
	})
	if err != nil {
		return fmt.Errorf("in %s, %w; run mirror again", to.Name, err)
	}
	return nil
}

// checked reads key from d, failing at its end when its size or sha256 differs.
func checked(ctx context.Context, d pipeline.Destination, key, sha256 string, size int64) (io.ReadCloser, error) {
	rc, err := d.Store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read from %s: %w", d.Name, err)
	}
	c, err := pipeline.UnwrapReader(rc, pipeline.Unwrap{SHA256: sha256, Size: size}, nil)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return c, nil
}
