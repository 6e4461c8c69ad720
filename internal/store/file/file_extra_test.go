package file

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

func newStore(t *testing.T, root string) *Store {
	t.Helper()
	s, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustPut(t *testing.T, s *Store, key, data string) {
	t.Helper()
	if err := s.Put(context.Background(), key, strings.NewReader(data)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// tempFiles lists the temporary files anywhere below root; List hides them, so tests of
// cleanup must look at the directory itself.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tempPrefix) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestNewRoot(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		root    string
		opts    Options
		wantErr []string // substrings; nil means success
	}{
		{"missing root", filepath.Join(dir, "missing"), Options{}, []string{"file://" + dir + "/missing", "does not exist", "create the directory or mount the volume"}},
		{"missing root, create", filepath.Join(dir, "new", "deeper"), Options{Create: true}, nil},
		{"existing root", dir, Options{}, nil},
		{"root is a file", regular, Options{}, []string{"is not a directory"}},
		{"root is a file, create", regular, Options{Create: true}, []string{"is not a directory"}},
		{"root below a file", filepath.Join(regular, "x"), Options{Create: true}, []string{"regular/x"}},
		{"empty path", "", Options{Create: true}, []string{"empty path"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.root, tc.opts)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				fi, err := os.Stat(tc.root)
				if err != nil || !fi.IsDir() {
					t.Fatalf("root after New: %v, %v", fi, err)
				}
				if s.String() != "file://"+tc.root {
					t.Fatalf("String() = %q", s.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("New(%q) = nil error, want one containing %q", tc.root, tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New(%q) error %q does not contain %q", tc.root, err, want)
				}
			}
		})
	}
}

func TestRelativeRootIsMadeAbsolute(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := New("backups", Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.String(), "file:///") || !strings.HasSuffix(s.String(), "/backups") {
		t.Fatalf("String() = %q, want an absolute file URL", s.String())
	}
}

func TestPermissions(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	mustPut(t, s, "vault/id/data.snap", "secret")
	for p, want := range map[string]fs.FileMode{
		filepath.Join(root, "vault"):                 fs.ModeDir | dirMode,
		filepath.Join(root, "vault/id"):              fs.ModeDir | dirMode,
		filepath.Join(root, "vault", "id/data.snap"): 0o600,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s mode = %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestFailedPutLeavesNoTempFile(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	boom := errors.New("boom")
	err := s.Put(context.Background(), "a/b/obj", &failAfter{n: 100_000, err: boom})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "reading the stream") {
		t.Fatalf("Put = %v, want the reader's error, blamed on the stream", err)
	}
	if found := tempFiles(t, root); len(found) != 0 {
		t.Fatalf("temporary files left behind: %q", found)
	}
}

func TestListSkipsWhatLifeboatDidNotWrite(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	mustPut(t, s, "src/obj", "x")
	for _, p := range []string{"src/" + tempPrefix + "123", tempPrefix + "9", "lost+found/old", `src/back\slash`} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "src/obj"), filepath.Join(root, "src/link")); err != nil {
		t.Fatal(err)
	}
	infos, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != "src/obj" {
		t.Fatalf("List = %+v, want only src/obj", infos)
	}
	if err := s.Put(context.Background(), "src/"+tempPrefix+"x", strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("Put of a temporary-file name = %v, want a reserved-name error", err)
	}
}

func TestDeletePrunesEmptyDirectories(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	mustPut(t, s, "vault/id-1/data.snap", "d")
	mustPut(t, s, "vault/id-1/manifest.json", "m")
	mustPut(t, s, "vault/id-2/data.snap", "d")
	ctx := context.Background()
	for _, k := range []string{"vault/id-1/data.snap", "vault/id-1/manifest.json"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "vault/id-1")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("emptied backup directory still there: %v", err)
	}
	if err := s.Delete(ctx, "vault/id-2/data.snap"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("root must survive deleting everything: %v", err)
	}
	if len(entries) != 0 {
		t.Fatalf("root still holds %v", entries)
	}
}

// A root that disappears after New (an unmounted volume) must fail loudly: never an empty
// listing, never "not found" for an object, never a silently recreated directory.
func TestVanishedRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pvc")
	s, err := New(root, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "vault/id/data.snap", "x")
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(op string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "does not exist: create the directory or mount the volume") {
			t.Errorf("%s on a vanished root = %v, want the missing-root error", op, err)
		}
	}
	_, err = s.List(ctx, "")
	check("List", err)
	_, err = s.Stat(ctx, "vault/id/data.snap")
	check("Stat", err)
	_, err = s.Get(ctx, "vault/id/data.snap")
	check("Get", err)
	check("Delete", s.Delete(ctx, "vault/id/data.snap"))
	check("Put", s.Put(ctx, "vault/id2/data.snap", strings.NewReader("x")))
	check("Put at the top", s.Put(ctx, "top", strings.NewReader("x")))
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Put recreated the vanished root: %v", err)
	}
}

func TestSymlinkedRoot(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, link)
	mustPut(t, s, "a/b", "x")
	infos, err := s.List(context.Background(), "")
	if err != nil || len(infos) != 1 || infos[0].Key != "a/b" {
		t.Fatalf("List through a symlinked root = %+v, %v", infos, err)
	}
}

type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	n := min(len(p), f.n)
	clear(p[:n])
	f.n -= n
	return n, nil
}
