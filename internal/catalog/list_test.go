package catalog

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/faulty"
)

func put(t *testing.T, st *memStore, key, data string) {
	t.Helper()
	if err := st.Put(context.Background(), key, strings.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

func TestListEmpty(t *testing.T) {
	backups, problems, err := List(context.Background(), newMemStore(t0), "vault")
	if err != nil || backups != nil || problems != nil {
		t.Errorf("List of an empty store = %v, %v, %v", backups, problems, err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	st := newMemStore(t0)
	old := putBackup(t, st, "vault", at(18, 1))
	newest := putBackup(t, st, "vault", at(20, 1))
	mid := putBackup(t, st, "vault", at(19, 1))
	putBackup(t, st, "vault-dr", at(20, 2)) // another source sharing a name prefix

	// An unfinished upload, strays that are not ours, and four kinds of broken backup.
	put(t, st, DataKey("vault", "vault-20261120T120000Z-0001", "snap"), "partial")
	put(t, st, "vault/README", "x")
	put(t, st, "vault/x/y/manifest.json", "x")
	put(t, st, ManifestKey("vault", "vault-20261117T000000Z-0002"), "{not json")
	missing := testManifest("vault", at(16, 1), []byte("gone"))
	putEncoded(t, st, missing.Key(), missing)
	short := putBackup(t, st, "vault", at(15, 1))
	put(t, st, short.DataObjectKey(), "cut")
	moved := putBackup(t, st, "vault", at(14, 1))
	putEncoded(t, st, ManifestKey("vault", "vault-20261113T000000Z-0003"), moved)

	backups, problems, err := List(ctx, st, "vault")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range backups {
		ids = append(ids, b.ID)
	}
	if want := []string{newest.ID, mid.ID, old.ID, moved.ID}; !reflect.DeepEqual(ids, want) {
		t.Errorf("List ids = %v, want %v", ids, want)
	}
	if !backups[0].Created.Equal(at(20, 1)) || backups[0].Manifest.SHA256 != newest.SHA256 {
		t.Errorf("first backup = %+v", backups[0])
	}
	wantProblems := []string{
		"vault/vault-20261113T000000Z-0003/manifest.json: invalid manifest: it describes backup \"" + moved.ID +
			"\" of source \"vault\", but is stored under vault/vault-20261113T000000Z-0003/",
		short.Key() + ": invalid manifest: data object " + short.DataObjectKey() + " is 3 bytes but the manifest records " +
			fmt.Sprint(short.Size) + ": it was truncated or replaced",
		missing.Key() + ": invalid manifest: data object " + missing.DataObjectKey() + " is missing",
		"vault/vault-20261117T000000Z-0002/manifest.json: invalid manifest: not valid manifest JSON",
	}
	wantIDs := []string{"vault-20261113T000000Z-0003", short.ID, missing.ID, "vault-20261117T000000Z-0002"}
	if len(problems) != len(wantProblems) {
		t.Fatalf("problems = %v", problems)
	}
	for i, p := range problems {
		if !strings.HasPrefix(p.Error(), wantProblems[i]) || !errors.Is(p, ErrInvalidManifest) {
			t.Errorf("problem %d = %q\nwant prefix %q", i, p, wantProblems[i])
		}
		if p.ID != wantIDs[i] {
			t.Errorf("problem %d has ID %q, want the directory's %q", i, p.ID, wantIDs[i])
		}
	}
}

func putEncoded(t *testing.T, st *memStore, key string, m *Manifest) {
	t.Helper()
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	put(t, st, key, string(data))
}

func TestListOversizedManifest(t *testing.T) {
	st := newMemStore(t0)
	m := putBackup(t, st, "vault", at(20, 1))
	put(t, st, m.Key(), strings.Repeat(" ", MaxManifestSize+1))
	_, problems, err := List(context.Background(), st, "vault")
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0].Error(), "larger than 1048576 bytes") {
		t.Errorf("List = %v, %v", problems, err)
	}
}

func TestListStoreErrors(t *testing.T) {
	ctx := context.Background()
	st := newMemStore(t0)
	m := putBackup(t, st, "vault", at(20, 1))

	f := faulty.New(st)
	f.Add(faulty.Fault{Op: faulty.Get, Key: m.Key(), Err: store.ErrNotFound, Times: 1})
	if backups, problems, err := List(ctx, f, "vault"); err != nil || len(backups)+len(problems) != 0 {
		t.Errorf("manifest deleted after listing: %v, %v, %v", backups, problems, err)
	}

	f.Add(faulty.Fault{Op: faulty.Get, Key: m.Key(), Err: errInjected})
	if _, _, err := List(ctx, f, "vault"); !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "mem://test") {
		t.Errorf("read error: %v", err)
	}

	f.Add(faulty.Fault{Op: faulty.List, Err: errInjected})
	if _, _, err := List(ctx, f, "vault"); !errors.Is(err, errInjected) ||
		!strings.Contains(err.Error(), `list backups of source "vault" in mem://test`) {
		t.Errorf("list error: %v", err)
	}

	if _, _, err := List(ctx, st, "../etc"); err == nil || !strings.Contains(err.Error(), "invalid name") {
		t.Errorf("bad source name: %v", err)
	}
}

func TestLatest(t *testing.T) {
	ctx := context.Background()
	st := newMemStore(t0)
	_, err := Latest(ctx, st, "vault")
	if !errors.Is(err, ErrNoBackups) || err.Error() != `no backups of source "vault" in mem://test; `+
		`check the source name and the destination's prefix, or run a backup first` {
		t.Errorf("Latest of empty store: %v", err)
	}
	put(t, st, ManifestKey("vault", "vault-20261117T000000Z-0002"), "{")
	if _, err := Latest(ctx, st, "vault"); !errors.Is(err, ErrNoBackups) || !strings.Contains(err.Error(), "1 unusable manifest(s)") {
		t.Errorf("Latest with only a corrupt manifest: %v", err)
	}
	putBackup(t, st, "vault", at(19, 1))
	want := putBackup(t, st, "vault", at(20, 1))
	if b, err := Latest(ctx, st, "vault"); err != nil || b.ID != want.ID {
		t.Errorf("Latest = %v, %v; want %s", b.ID, err, want.ID)
	}
}

func TestUnfinished(t *testing.T) {
	ctx := context.Background()
	st := newMemStore(at(18, 0))
	putBackup(t, st, "vault", at(18, 0))                                           // committed: never unfinished
	put(t, st, DataKey("vault", "vault-20261118T000000Z-0001", "snap"), "x")       // old
	put(t, st, "vault/not-an-id/data.snap", "x")                                   // not ours
	put(t, st, DataKey("vault-dr", "vault-dr-20261118T000000Z-0001", "snap"), "x") // other source
	put(t, st, "vault/vault-20261118T000000Z-0001/notes.txt", "x")                 // not a data object
	st.now = at(20, 12)
	put(t, st, DataKey("vault", "vault-20261120T120000Z-0002", "snap"), "x") // recent: maybe in flight

	keys, err := Unfinished(ctx, st, "vault", at(20, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"vault/vault-20261118T000000Z-0001/data.snap"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("Unfinished = %v, want %v", keys, want)
	}
	f := faulty.New(st)
	f.Add(faulty.Fault{Op: faulty.List, Err: errInjected})
	if _, err := Unfinished(ctx, f, "vault", at(20, 0)); !errors.Is(err, errInjected) {
		t.Errorf("list error: %v", err)
	}
}
