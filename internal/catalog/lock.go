package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// ReasonLocked starts the reason of a backup that retention would delete but whose objects
// are still under an object lock (store.Locker): "locked until <RFC 3339 time> ...".
const ReasonLocked = "locked until "

// ApplyLocks turns each decision to delete a backup whose objects are locked at now into a
// keep, with the lock's end in LockedUntil and first among the reasons, so that `prune
// --dry-run` shows it and Prune leaves it. A backup's lock ends when the lock of its
// last-locked object does (the manifest, written last, and any object added later).
// Stores that are not a store.Locker lock nothing: decisions come back unchanged.
//
// Prune applies locks itself; call ApplyLocks first only to show the plan as Prune will
// carry it out. Decisions already checked are not asked again.
func ApplyLocks(ctx context.Context, st store.Store, source string, decisions []Decision, now time.Time) ([]Decision, error) {
	lk, ok := st.(store.Locker)
	if !ok {
		return decisions, nil
	}
	dirs, err := listDirs(ctx, st, source)
	if err != nil {
		return decisions, err
	}
	return applyLocks(ctx, lk, st, dirsByID(dirs), decisions, now)
}

func applyLocks(ctx context.Context, lk store.Locker, st store.Store, byID map[string]*backupDir, decisions []Decision, now time.Time) ([]Decision, error) {
	out := slices.Clone(decisions)
	for i := range out {
		d := &out[i]
		if d.Keep || d.lockChecked {
			continue
		}
		d.lockChecked = true
		dir := byID[d.Backup.ID]
		if dir == nil {
			continue // gone already: nothing left to lock
		}
		until, err := lastRetainUntil(ctx, lk, dir.all)
		if err != nil {
			return decisions, fmt.Errorf("backup %s in %s: cannot tell whether its objects are locked, so nothing is deleted: %w", d.Backup.ID, st, err)
		}
		if until.After(now) {
			d.Keep, d.LockedUntil = true, until
			d.Reasons = []string{ReasonLocked + until.UTC().Format(time.RFC3339) + " by object lock; retention deletes it after that (" +
				strings.Join(d.Reasons, ", ") + ")"}
		}
	}
	return out, nil
}

// lastRetainUntil is the latest retain-until date among objs, zero when none is locked.
func lastRetainUntil(ctx context.Context, lk store.Locker, objs []store.ObjectInfo) (time.Time, error) {
	var last time.Time
	for _, o := range objs {
		t, err := lk.RetainUntil(ctx, o.Key)
		if err != nil {
			return time.Time{}, err
		}
		if t.After(last) {
			last = t
		}
	}
	return last, nil
}

func dirsByID(dirs []*backupDir) map[string]*backupDir {
	byID := make(map[string]*backupDir, len(dirs))
	for _, d := range dirs {
		byID[d.id] = d
	}
	return byID
}
