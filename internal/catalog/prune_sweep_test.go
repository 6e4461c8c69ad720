package catalog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/file"
)

// commit stores a backup of source created at day (data, then manifest) in st.
func commit(t *testing.T, st store.Store, day int) *Manifest {
	t.Helper()
	data := []byte("snapshot")
	m := testManifest("vault", at(day, 1), data)
	enc, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	for key, b := range map[string][]byte{m.DataObjectKey(): data, m.Key(): enc} {
		if err := st.Put(context.Background(), key, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// Prune on a file store also sweeps the temporary files of crashed writes, and with them
// the directories they kept alive; a dry run only reports them.
func TestPruneSweepsTempFilesOfAFileStore(t *testing.T) {
	root := t.TempDir()
	st, err := file.New(root, file.Options{})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, st, 19)
	newest := commit(t, st, 20)
	crashed := "vault/vault-20261118T010000Z-0001/.lifeboat-tmp-123" // died writing its data
	beside := "vault/vault-20261119T010000Z-0000/.lifeboat-tmp-456"  // an old manifest write
	running := "vault/vault-20261120T150000Z-0002/.lifeboat-tmp-789" // a backup in flight
	for name, mtime := range map[string]int{crashed: 18, beside: 19, running: 20} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at(mtime, 2), at(mtime, 2)); err != nil {
			t.Fatal(err)
		}
	}
	plan := func() []Decision {
		backups, _, err := List(context.Background(), st, "vault")
		if err != nil {
			t.Fatal(err)
		}
		return Plan(t0, backups, Policy{KeepLast: 1})
	}
	grace := PruneOptions{UnfinishedBefore: t0.Add(-DefaultUnfinishedGrace)}

	dry := grace
	dry.DryRun = true
	res, err := Prune(context.Background(), st, "vault", plan(), dry)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{crashed, beside}; !sameSet(res.Unfinished, want) {
		t.Errorf("dry run Unfinished = %q, want %q", res.Unfinished, want)
	}
	if _, err := os.Stat(filepath.Join(root, crashed)); err != nil {
		t.Errorf("dry run removed a temp file: %v", err)
	}

	res, err = Prune(context.Background(), st, "vault", plan(), grace)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{crashed, beside}; !sameSet(res.Unfinished, want) {
		t.Errorf("Unfinished = %q, want %q", res.Unfinished, want)
	}
	entries, err := os.ReadDir(filepath.Join(root, "vault"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		dirs = append(dirs, e.Name())
	}
	if want := []string{"vault-20261120T010000Z-0000", "vault-20261120T150000Z-0002"}; !reflect.DeepEqual(dirs, want) {
		t.Errorf("directories left = %q, want the kept backup and the running one %q (newest %s)", dirs, want, newest.ID)
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}
