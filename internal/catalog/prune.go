package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// ErrPruneRefused is wrapped when Prune deletes nothing because the plan looks unsafe.
var ErrPruneRefused = errors.New("prune refused")

// PruneOptions tune one Prune call.
type PruneOptions struct {
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
	// UnfinishedBefore removes unfinished uploads (data without a manifest) and, in stores
	// that stage writes (store.TempSweeper), temporary files of crashed writes, last
	// modified before this instant, typically now minus DefaultUnfinishedGrace. Zero leaves
	// them.
	UnfinishedBefore time.Time
	// Now is what object locks are compared with (store.Locker): a backup or unfinished
	// upload locked past it is kept. Zero keeps everything that has a lock.
	Now time.Time
}

// PruneResult says what Prune did (or, in a dry run, would do).
type PruneResult struct {
	DryRun     bool
	Kept       []string // backup ids
	Deleted    []string // backup ids
	Unfinished []string // keys of removed unfinished uploads, then names of removed temporary files
	// Locked are the ids of backups the rules would delete but an object lock keeps (also
	// in Kept; their decisions say until when); UnfinishedLocked the keys of unfinished
	// uploads left for the same reason. A later prune removes them.
	Locked           []string
	UnfinishedLocked []string
}

// Prune carries out decisions (from Plan over a fresh List of the same store) for source
// in st. For each backup to delete it removes the manifest FIRST and the data after: a
// prune that dies half way leaves an unfinished upload, which is never listed as a good
// backup, rather than a manifest that points at missing data.
//
// It refuses, deleting nothing, when decisions are empty (an empty listing can mean a
// wrong prefix or a recreated store), when nothing would be kept, when a decision is for
// another source, or when a backup to keep is no longer in the store. Deletion errors do
// not stop the other deletions; they are joined in the returned error.
//
// In a store.Locker, a backup (or unfinished upload) whose objects are locked past
// opts.Now is kept and reported in Locked (UnfinishedLocked), not attempted: the store
// would refuse it anyway, and a locked backup inside its window is not a failure.
func Prune(ctx context.Context, st store.Store, source string, decisions []Decision, opts PruneOptions) (PruneResult, error) {
	res := PruneResult{DryRun: opts.DryRun}
	if err := checkPlan(source, st, decisions); err != nil {
		return res, err
	}
	dirs, err := listDirs(ctx, st, source)
	if err != nil {
		return res, err
	}
	byID := dirsByID(dirs)
	for _, d := range decisions {
		if dir := byID[d.Backup.ID]; d.Keep && (dir == nil || dir.manifest == nil) {
			return res, fmt.Errorf("%w: backup %s is to be kept but its manifest is no longer in %s; "+
				"the store changed since the backups were listed: list again", ErrPruneRefused, d.Backup.ID, st)
		}
	}
	lk, locks := st.(store.Locker)
	if locks {
		// Before any deletion: a backup whose objects are locked would be refused half way.
		if decisions, err = applyLocks(ctx, lk, st, byID, decisions, opts.Now); err != nil {
			return res, fmt.Errorf("prune source %q: %w", source, err)
		}
	}
	var errs []error
	for _, d := range decisions {
		if d.Keep {
			res.Kept = append(res.Kept, d.Backup.ID)
			if !d.LockedUntil.IsZero() {
				res.Locked = append(res.Locked, d.Backup.ID)
			}
			continue
		}
		if err := deleteBackup(ctx, st, d.Backup, byID[d.Backup.ID], opts.DryRun); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Deleted = append(res.Deleted, d.Backup.ID)
	}
	if !opts.UnfinishedBefore.IsZero() {
		for _, key := range unfinishedKeys(dirs, source, opts.UnfinishedBefore) {
			if locks {
				until, err := lk.RetainUntil(ctx, key)
				if err != nil {
					errs = append(errs, fmt.Errorf("unfinished upload %s not removed: %w", key, err))
					continue
				}
				if until.After(opts.Now) {
					res.UnfinishedLocked = append(res.UnfinishedLocked, key)
					continue
				}
			}
			if err := deleteKey(ctx, st, key, opts.DryRun); err != nil {
				errs = append(errs, err)
				continue
			}
			res.Unfinished = append(res.Unfinished, key)
		}
	}
	if sw, ok := st.(store.TempSweeper); ok && !opts.UnfinishedBefore.IsZero() {
		// After the deletions: a leftover temporary file keeps its directory from being
		// removed with the backup, and the sweep removes the directory with the file.
		swept, err := sw.SweepTemp(ctx, source+"/", opts.UnfinishedBefore, opts.DryRun)
		res.Unfinished = append(res.Unfinished, swept...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("prune source %q in %s: %w", source, st, err)
	}
	return res, nil
}

// checkPlan refuses plans that cannot be what the operator wants.
func checkPlan(source string, st store.Store, decisions []Decision) error {
	if len(decisions) == 0 {
		return fmt.Errorf("%w: no backups of source %q are listed in %s; an empty listing can mean a "+
			"wrong prefix or bucket or a recreated store, so nothing is deleted", ErrPruneRefused, source, st)
	}
	kept := 0
	seen := map[string]bool{}
	for _, d := range decisions {
		if seen[d.Backup.ID] {
			return fmt.Errorf("%w: backup %s appears twice in the plan", ErrPruneRefused, d.Backup.ID)
		}
		seen[d.Backup.ID] = true
		if d.Backup.Manifest == nil || d.Backup.Manifest.ID != d.Backup.ID || d.Backup.Manifest.Source.Name != source {
			return fmt.Errorf("%w: backup %q is not a listed backup of source %q", ErrPruneRefused, d.Backup.ID, source)
		}
		if d.Keep {
			kept++
		}
	}
	if kept == 0 {
		return fmt.Errorf("%w: the plan would delete all %d backups of source %q in %s; "+
			"at least the newest backup is always kept", ErrPruneRefused, len(decisions), source, st)
	}
	return nil
}

// deleteBackup removes the manifest, then every other object in the backup's directory.
// dir is nil when the listing no longer shows the backup (another prune got there first).
func deleteBackup(ctx context.Context, st store.Store, b Backup, dir *backupDir, dryRun bool) error {
	if err := deleteKey(ctx, st, b.Manifest.Key(), dryRun); err != nil {
		return fmt.Errorf("backup %s not deleted: %w", b.ID, err)
	}
	keys := []string{b.Manifest.DataObjectKey()}
	if dir != nil {
		keys = keys[:0]
		for _, o := range dir.all {
			if o.Key != b.Manifest.Key() {
				keys = append(keys, o.Key)
			}
		}
	}
	var errs []error
	for _, k := range keys {
		if err := deleteKey(ctx, st, k, dryRun); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("backup %s: manifest deleted, data left as an unfinished upload for the next prune: %w", b.ID, err)
	}
	return nil
}

func deleteKey(ctx context.Context, st store.Store, key string, dryRun bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if dryRun {
		return nil
	}
	if err := st.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
