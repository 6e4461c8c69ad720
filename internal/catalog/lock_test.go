package catalog

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// lockStore is a memStore with S3-like object locks: RetainUntil reports them, and Delete
// refuses a key locked at the clock's now, as the server does.
type lockStore struct {
	*memStore
	clock   *clocktest.Clock
	mu      sync.Mutex
	until   map[string]time.Time
	asked   []string // keys RetainUntil was asked about
	failFor string   // RetainUntil of this key fails
}

var _ store.Locker = (*lockStore)(nil)

func (s *lockStore) CheckLock(context.Context) error { return nil }

func (s *lockStore) RetainUntil(_ context.Context, key string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, key)
	if key == s.failFor {
		return time.Time{}, errInjected
	}
	return s.until[key], nil
}

func (s *lockStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	until := s.until[key]
	s.mu.Unlock()
	if until.After(s.clock.Now()) {
		return fmt.Errorf("delete %s: object is WORM protected", key)
	}
	return s.memStore.Delete(ctx, key)
}

// lockFixture is pruneFixture in a lockStore whose clock stands at t0.
func lockFixture(t *testing.T) (*lockStore, []*Manifest) {
	st, ms := pruneFixture(t)
	return &lockStore{memStore: st, clock: clocktest.New(t0), until: map[string]time.Time{}}, ms
}

// lockBackup locks every object of m until until, and its manifest a minute longer (it is
// written last).
func (s *lockStore) lockBackup(m *Manifest, until time.Time) {
	s.until[m.DataObjectKey()] = until
	s.until[m.Key()] = until.Add(time.Minute)
}

func (s *lockStore) planAt(t *testing.T, p Policy) []Decision {
	t.Helper()
	backups, _, err := List(context.Background(), s, "vault")
	if err != nil {
		t.Fatal(err)
	}
	return Plan(s.clock.Now(), backups, p)
}

func deletedAny(st *lockStore, m *Manifest) bool {
	return slices.ContainsFunc(st.deleted, func(k string) bool { return strings.HasPrefix(k, BackupDir("vault", m.ID)) })
}

// Inside the lock window a backup the rules would delete is kept and says until when;
// once the window is over, the same plan deletes it.
func TestPruneKeepsLockedBackups(t *testing.T) {
	ctx := context.Background()
	st, ms := lockFixture(t)
	st.lockBackup(ms[0], t0.Add(time.Hour))    // locked past now
	st.lockBackup(ms[1], t0.Add(-time.Hour))   // lock already over
	st.lockBackup(ms[3], t0.Add(24*time.Hour)) // kept by the rules anyway
	decisions, err := ApplyLocks(ctx, st, "vault", st.planAt(t, Policy{KeepLast: 2}), st.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantUntil := t0.Add(time.Hour + time.Minute) // the manifest's lock, the last to end
	for _, d := range decisions {
		switch d.Backup.ID {
		case ms[0].ID:
			want := "locked until 2026-11-20T16:31:00Z by object lock; retention deletes it after that (not matched by any keep rule)"
			if !d.Keep || !d.LockedUntil.Equal(wantUntil) || !reflect.DeepEqual(d.Reasons, []string{want}) {
				t.Errorf("locked backup: %+v\nwant kept until %s: %q", d, wantUntil, want)
			}
		case ms[1].ID, ms[2].ID:
			if d.Keep || !d.LockedUntil.IsZero() {
				t.Errorf("backup %s whose lock is over (or that has none) is kept: %+v", d.Backup.ID, d)
			}
		case ms[3].ID:
			if !d.Keep || !d.LockedUntil.IsZero() || d.Reasons[0] != "last 2" {
				t.Errorf("backup the rules keep: %+v", d)
			}
		}
	}

	asked := len(st.asked)
	res, err := Prune(ctx, st, "vault", decisions, PruneOptions{Now: st.clock.Now()})
	if err != nil {
		t.Fatalf("Prune inside the lock window: %v", err)
	}
	if len(st.asked) != asked {
		t.Errorf("Prune asked again about locks ApplyLocks had checked: %v", st.asked[asked:])
	}
	want := PruneResult{
		Kept:    []string{ms[4].ID, ms[3].ID, ms[0].ID},
		Deleted: []string{ms[2].ID, ms[1].ID},
		Locked:  []string{ms[0].ID},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("Prune = %+v\nwant %+v", res, want)
	}
	if deletedAny(st, ms[0]) {
		t.Errorf("an object of the locked backup was deleted: %v", st.deleted)
	}

	// The window is over: the same rules delete it now.
	st.clock.Advance(2 * time.Hour)
	res, err = Prune(ctx, st, "vault", st.planAt(t, Policy{KeepLast: 2}), PruneOptions{Now: st.clock.Now()})
	if err != nil {
		t.Fatalf("Prune after the lock window: %v", err)
	}
	if !reflect.DeepEqual(res.Deleted, []string{ms[0].ID}) || res.Locked != nil {
		t.Errorf("after the window Prune = %+v, want %s deleted", res, ms[0].ID)
	}
	backups, _, err := List(ctx, st, "vault")
	if err != nil || len(backups) != 2 {
		t.Errorf("after the window List = %v, %v", backups, err)
	}
}

// A backup is as locked as its last-locked object: one locked object (the manifest, an
// extra, a drill record written later) keeps the whole backup, so a prune never deletes
// the manifest and then stops at a locked data object.
func TestPruneLockOfAnyObjectKeepsTheBackup(t *testing.T) {
	for _, which := range []string{"data", "manifest", "later object"} {
		t.Run(which, func(t *testing.T) {
			st, ms := lockFixture(t)
			key := map[string]string{"data": ms[0].DataObjectKey(), "manifest": ms[0].Key(),
				"later object": BackupDir("vault", ms[0].ID) + "drill-20261120.json"}[which]
			if which == "later object" {
				put(t, st.memStore, key, "x")
			}
			st.until[key] = t0.Add(time.Minute)
			res, err := Prune(context.Background(), st, "vault", st.planAt(t, Policy{KeepLast: 4}), PruneOptions{Now: st.clock.Now()})
			if err != nil || !reflect.DeepEqual(res.Locked, []string{ms[0].ID}) || len(res.Deleted) != 0 {
				t.Errorf("Prune = %+v, %v; want %s kept by its lock", res, err, ms[0].ID)
			}
			if len(st.deleted) != 0 {
				t.Errorf("deleted %v", st.deleted)
			}
		})
	}
}

// A dry run shows the same keeps; a zero Now treats every lock as running.
func TestPruneLockedDryRunAndZeroNow(t *testing.T) {
	st, ms := lockFixture(t)
	st.lockBackup(ms[0], t0.Add(-time.Hour)) // over at t0, running for a zero Now
	for _, o := range []PruneOptions{{DryRun: true, Now: t0.Add(-2 * time.Hour)}, {}} {
		res, err := Prune(context.Background(), st, "vault", st.planAt(t, Policy{KeepLast: 4}), o)
		if err != nil || !reflect.DeepEqual(res.Locked, []string{ms[0].ID}) || len(res.Deleted) != 0 {
			t.Errorf("Prune %+v = %+v, %v; want %s kept by its lock", o, res, err, ms[0].ID)
		}
	}
	if len(st.deleted) != 0 {
		t.Errorf("deleted %v", st.deleted)
	}
}

// An unfinished upload still locked is left for a later prune, not reported as a failure.
func TestPruneLeavesLockedUnfinishedUploads(t *testing.T) {
	st, _ := lockFixture(t)
	old := "vault/vault-20261110T000000Z-0001/data.snap"
	st.until[old] = t0.Add(time.Hour)
	opts := PruneOptions{UnfinishedBefore: at(21, 0), Now: st.clock.Now()}
	res, err := Prune(context.Background(), st, "vault", st.planAt(t, Policy{KeepLast: 5}), opts)
	if err != nil || !reflect.DeepEqual(res.UnfinishedLocked, []string{old}) || slices.Contains(res.Unfinished, old) {
		t.Fatalf("Prune = %+v, %v; want %s left as locked", res, err, old)
	}
	if slices.Contains(st.deleted, old) {
		t.Fatalf("locked unfinished upload deleted")
	}
	st.clock.Advance(2 * time.Hour)
	opts.Now = st.clock.Now()
	res, err = Prune(context.Background(), st, "vault", st.planAt(t, Policy{KeepLast: 5}), opts)
	if err != nil || !slices.Contains(res.Unfinished, old) || res.UnfinishedLocked != nil {
		t.Fatalf("after the window Prune = %+v, %v; want %s removed", res, err, old)
	}
}

// When the store cannot say whether a backup is locked, nothing is deleted.
func TestPruneLockCheckFails(t *testing.T) {
	st, ms := lockFixture(t)
	st.failFor = ms[1].Key()
	_, err := Prune(context.Background(), st, "vault", st.planAt(t, Policy{KeepLast: 2}), PruneOptions{Now: st.clock.Now()})
	if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "backup "+ms[1].ID+" in mem://test: cannot tell whether its objects are locked, so nothing is deleted") {
		t.Errorf("Prune = %v", err)
	}
	if len(st.deleted) != 0 {
		t.Errorf("deleted %v after a failed lock check", st.deleted)
	}
	if _, err := ApplyLocks(context.Background(), st, "vault", st.planAt(t, Policy{KeepLast: 2}), t0); !errors.Is(err, errInjected) {
		t.Errorf("ApplyLocks = %v", err)
	}
}

// Stores without locks (the file store) are not asked and plans come back unchanged.
func TestApplyLocksWithoutLocker(t *testing.T) {
	st, _ := pruneFixture(t)
	decisions := planFor(t, st, Policy{KeepLast: 2})
	got, err := ApplyLocks(context.Background(), st, "vault", decisions, t0)
	if err != nil || !reflect.DeepEqual(got, decisions) {
		t.Errorf("ApplyLocks on a store without locks = %+v, %v", got, err)
	}
}
