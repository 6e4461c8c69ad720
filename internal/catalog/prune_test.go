package catalog

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store/faulty"
)

// pruneFixture stores five daily backups of "vault" (the 16th to the 20th), an old and a
// recent unfinished upload, and one backup of another source.
func pruneFixture(t *testing.T) (*memStore, []*Manifest) {
	st := newMemStore(at(10, 0))
	put(t, st, DataKey("vault", "vault-20261110T000000Z-0001", "snap"), "old partial")
	var ms []*Manifest
	for day := 16; day <= 20; day++ {
		st.now = at(day, 1)
		ms = append(ms, putBackup(t, st, "vault", at(day, 1)))
	}
	putBackup(t, st, "other", at(16, 1))
	st.now = at(20, 12)
	put(t, st, DataKey("vault", "vault-20261120T120000Z-0002", "snap"), "in flight")
	return st, ms
}

func planFor(t *testing.T, st *memStore, p Policy) []Decision {
	t.Helper()
	backups, _, err := List(context.Background(), st, "vault")
	if err != nil {
		t.Fatal(err)
	}
	return Plan(t0, backups, p)
}

func TestPrune(t *testing.T) {
	st, ms := pruneFixture(t)
	decisions := planFor(t, st, Policy{KeepLast: 2})
	res, err := Prune(context.Background(), st, "vault", decisions, PruneOptions{UnfinishedBefore: at(20, 0)})
	if err != nil {
		t.Fatal(err)
	}
	want := PruneResult{
		Kept:       []string{ms[4].ID, ms[3].ID},
		Deleted:    []string{ms[2].ID, ms[1].ID, ms[0].ID},
		Unfinished: []string{"vault/vault-20261110T000000Z-0001/data.snap"},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("Prune = %+v\nwant %+v", res, want)
	}
	// Each manifest goes before its data, so a crash mid-prune never leaves a listed
	// backup without data.
	for _, m := range ms[:3] {
		mi, di := slices.Index(st.deleted, m.Key()), slices.Index(st.deleted, m.DataObjectKey())
		if mi < 0 || di < 0 || mi > di {
			t.Errorf("backup %s: manifest deleted at %d, data at %d", m.ID, mi, di)
		}
	}
	left := strings.Join(st.keys(), "\n")
	for _, k := range []string{ms[4].Key(), ms[3].DataObjectKey(), "vault/vault-20261120T120000Z-0002/data.snap", "other/"} {
		if !strings.Contains(left, k) {
			t.Errorf("%s was deleted; left:\n%s", k, left)
		}
	}
	if len(st.keys()) != 4+1+2 {
		t.Errorf("left:\n%s", left)
	}
}

func TestPruneDryRun(t *testing.T) {
	st, ms := pruneFixture(t)
	before := st.keys()
	res, err := Prune(context.Background(), st, "vault", planFor(t, st, Policy{KeepLast: 4}),
		PruneOptions{DryRun: true, UnfinishedBefore: at(21, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || !reflect.DeepEqual(res.Deleted, []string{ms[0].ID}) || len(res.Unfinished) != 2 {
		t.Errorf("dry run result = %+v", res)
	}
	if !reflect.DeepEqual(st.keys(), before) {
		t.Error("dry run deleted objects")
	}
}

func TestPruneRefuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(st *memStore, d []Decision) []Decision
		want  string
	}{
		{"empty listing", func(*memStore, []Decision) []Decision { return nil },
			`no backups of source "vault" are listed in mem://test; an empty listing can mean a wrong prefix`},
		{"deletes everything", func(_ *memStore, d []Decision) []Decision {
			for i := range d {
				d[i].Keep = false
			}
			return d
		}, `the plan would delete all 5 backups of source "vault" in mem://test`},
		{"another source's backup", func(_ *memStore, d []Decision) []Decision {
			d[1].Backup.Manifest = testManifest("other", at(16, 1), nil)
			return d
		}, `is not a listed backup of source "vault"`},
		{"backup listed twice", func(_ *memStore, d []Decision) []Decision {
			dup := d[0]
			dup.Keep = false
			return append(d, dup)
		}, "appears twice in the plan"},
		{"kept backup vanished", func(st *memStore, d []Decision) []Decision {
			delete(st.objs, d[0].Backup.Manifest.Key())
			return d
		}, "is to be kept but its manifest is no longer in mem://test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := pruneFixture(t)
			d := tc.setup(st, planFor(t, st, Policy{KeepLast: 1}))
			before := st.keys()
			_, err := Prune(ctx, st, "vault", d, PruneOptions{UnfinishedBefore: at(21, 0)})
			if !errors.Is(err, ErrPruneRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Prune error = %v\nwant %q", err, tc.want)
			}
			if !reflect.DeepEqual(st.keys(), before) || len(st.deleted) != 0 {
				t.Errorf("a refused prune deleted %v", st.deleted)
			}
		})
	}
}

func TestPruneDeleteFailures(t *testing.T) {
	ctx := context.Background()
	st, ms := pruneFixture(t)
	decisions := planFor(t, st, Policy{KeepLast: 2})
	f := faulty.New(st)
	f.Add(faulty.Fault{Op: faulty.Delete, Key: ms[2].Key(), Err: errInjected})           // manifest: backup stays whole
	f.Add(faulty.Fault{Op: faulty.Delete, Key: ms[1].DataObjectKey(), Err: errInjected}) // data: becomes an unfinished upload
	res, err := Prune(ctx, f, "vault", decisions, PruneOptions{})
	if !errors.Is(err, errInjected) {
		t.Fatalf("Prune error = %v", err)
	}
	for _, want := range []string{
		"backup " + ms[2].ID + " not deleted: delete " + ms[2].Key(),
		"backup " + ms[1].ID + ": manifest deleted, data left as an unfinished upload for the next prune",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	if !reflect.DeepEqual(res.Deleted, []string{ms[0].ID}) {
		t.Errorf("Deleted = %v", res.Deleted)
	}
	backups, _, err := List(ctx, st, "vault")
	if err != nil || len(backups) != 3 || backups[2].ID != ms[2].ID {
		t.Errorf("after a failed prune List = %v, %v", backups, err)
	}
	keys, err := Unfinished(ctx, st, "vault", at(21, 0))
	if err != nil || !slices.Contains(keys, ms[1].DataObjectKey()) {
		t.Errorf("half-deleted backup is not an unfinished upload: %v, %v", keys, err)
	}
}

func TestPruneCancelled(t *testing.T) {
	st, _ := pruneFixture(t)
	decisions := planFor(t, st, Policy{KeepLast: 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Prune(ctx, st, "vault", decisions, PruneOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Prune with a cancelled context = %v", err)
	}
	if len(st.deleted) != 0 {
		t.Errorf("deleted %v after cancel", st.deleted)
	}
}
