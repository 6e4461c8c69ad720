package file

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// putTemp leaves a temporary file as a crashed Put would, last modified at mtime.
func putTemp(t *testing.T, root, name string, mtime time.Time) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), dirMode); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestSweepTemp(t *testing.T) {
	cutoff := time.Date(2026, 11, 19, 15, 30, 0, 0, time.UTC)
	old, young := cutoff.Add(-time.Hour), cutoff.Add(time.Hour)
	tests := []struct {
		name      string
		temps     map[string]time.Time // temporary files left behind
		objects   []string             // objects Put normally
		prefix    string
		dryRun    bool
		wantSwept []string
		wantLeft  []string // every file and directory left below the root, slash-separated
	}{
		{
			name:      "old temp alone: file and emptied directories go",
			temps:     map[string]time.Time{"vault/id-1/" + tempPrefix + "1": old},
			prefix:    "vault/",
			wantSwept: []string{"vault/id-1/" + tempPrefix + "1"},
		},
		{
			name:      "old temp beside data: the directory stays for the data",
			temps:     map[string]time.Time{"vault/id-1/" + tempPrefix + "1": old},
			objects:   []string{"vault/id-1/data.snap"},
			prefix:    "vault/",
			wantSwept: []string{"vault/id-1/" + tempPrefix + "1"},
			wantLeft:  []string{"vault", "vault/id-1", "vault/id-1/data.snap"},
		},
		{
			name:     "a temp file younger than the cutoff may be a running Put",
			temps:    map[string]time.Time{"vault/id-1/" + tempPrefix + "1": young},
			prefix:   "vault/",
			wantLeft: []string{"vault", "vault/id-1", "vault/id-1/" + tempPrefix + "1"},
		},
		{
			name:     "another source's temp files are not swept",
			temps:    map[string]time.Time{"other/id-1/" + tempPrefix + "1": old},
			prefix:   "vault/",
			wantLeft: []string{"other", "other/id-1", "other/id-1/" + tempPrefix + "1"},
		},
		{
			name:      "dry run reports and removes nothing",
			temps:     map[string]time.Time{"vault/id-1/" + tempPrefix + "1": old},
			prefix:    "vault/",
			dryRun:    true,
			wantSwept: []string{"vault/id-1/" + tempPrefix + "1"},
			wantLeft:  []string{"vault", "vault/id-1", "vault/id-1/" + tempPrefix + "1"},
		},
		{
			name:   "a missing prefix directory is nothing to sweep",
			prefix: "vault/",
		},
		{
			name: "every level below the prefix",
			temps: map[string]time.Time{
				"vault/" + tempPrefix + "a":      old,
				"vault/id-1/" + tempPrefix + "b": old,
				"vault/id-2/" + tempPrefix + "c": young,
			},
			prefix:    "vault/",
			wantSwept: []string{"vault/" + tempPrefix + "a", "vault/id-1/" + tempPrefix + "b"},
			wantLeft:  []string{"vault", "vault/id-2", "vault/id-2/" + tempPrefix + "c"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			s := newStore(t, root)
			for _, k := range tc.objects {
				mustPut(t, s, k, "x")
			}
			for name, mtime := range tc.temps {
				putTemp(t, root, name, mtime)
			}
			swept, err := s.SweepTemp(context.Background(), tc.prefix, cutoff, tc.dryRun)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(swept)
			if !reflect.DeepEqual(swept, tc.wantSwept) {
				t.Errorf("swept %q, want %q", swept, tc.wantSwept)
			}
			if left := filesBelow(t, root); !reflect.DeepEqual(left, tc.wantLeft) {
				t.Errorf("left %q, want %q", left, tc.wantLeft)
			}
		})
	}
}

// A backup directory that held a crashed write's temp file outlives the Delete of its
// objects; the sweep then removes it too.
func TestDeleteThenSweepRemovesTheDirectory(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	mustPut(t, s, "vault/id-1/data.snap", "d")
	mustPut(t, s, "vault/id-2/data.snap", "d")
	putTemp(t, root, "vault/id-1/"+tempPrefix+"9", time.Now().Add(-48*time.Hour))
	ctx := context.Background()
	if err := s.Delete(ctx, "vault/id-1/data.snap"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "vault/id-1")); err != nil {
		t.Fatalf("the temp file should have kept the directory: %v", err)
	}
	if _, err := s.SweepTemp(ctx, "vault/", time.Now().Add(-24*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "vault/id-1")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("swept backup directory still there: %v", err)
	}
	if left := filesBelow(t, root); !reflect.DeepEqual(left, []string{"vault", "vault/id-2", "vault/id-2/data.snap"}) {
		t.Fatalf("left %q", left)
	}
}

func TestSweepTempRefusesAVanishedRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pvc")
	s, err := New(root, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SweepTemp(context.Background(), "vault/", time.Now(), false); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("SweepTemp of a vanished root = %v, want the missing-root error", err)
	}
}

// filesBelow lists every entry below root, slash-separated, in lexical order.
func filesBelow(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
