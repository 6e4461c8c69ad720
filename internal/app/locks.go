package app

import (
	"context"
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// CheckLocks asks each opened destination that locks what it writes (store.Locker, an S3
// destination with objectLock) whether it can, once per run and before the source is
// read. One that cannot (a bucket created without object lock) fails alone, like a
// destination that could not be opened, and the others still get the backup.
func CheckLocks(ctx context.Context, dests []pipeline.Destination) {
	for i := range dests {
		d := &dests[i]
		lk, ok := d.Store.(store.Locker)
		if d.OpenErr != nil || !ok {
			continue
		}
		if err := lk.CheckLock(ctx); err != nil {
			d.OpenErr = fmt.Errorf("could not open the destination for backups: %w", err)
			d.Where, d.Store = d.Store.String(), nil
		}
	}
}

// CheckLock is CheckLocks for one destination, returning its error (mirror's target).
func CheckLock(ctx context.Context, d pipeline.Destination) error {
	ds := []pipeline.Destination{d}
	CheckLocks(ctx, ds)
	return ds[0].OpenErr
}
