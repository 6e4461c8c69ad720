package app

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault/vaulttest"
)

const localOnly = `
  - name: local
    kind: file
    file: {path: "DIR/local"}
`

func flipByte(t *testing.T, path string, at func(n int) int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[at(len(raw))] ^= 0xff
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// verify must re-read every stored byte of a copy — data and extras — against the
// manifest, not only what the artifact's own checks look at.
func TestVerifyChecksEveryStoredByte(t *testing.T) {
	globals := []source.Extra{{Name: "globals.sql", Data: []byte("CREATE ROLE app LOGIN PASSWORD 'md5secret';\n")}}
	tests := []struct {
		name     string
		encrypt  bool
		damage   func(t *testing.T, root string, m *catalog.Manifest)
		wantErr  []string // all must appear; none means the copy verifies
		checksum bool     // the error must wrap pipeline.ErrChecksum
	}{
		{name: "good", damage: func(*testing.T, string, *catalog.Manifest) {}},
		{name: "good, encrypted", encrypt: true, damage: func(*testing.T, string, *catalog.Manifest) {}},
		{
			// gzip readers ignore the header's mtime (bytes 4-7): only the sha256 can
			// tell that the stored bytes are not the ones backed up.
			name: "gzip mtime changed",
			damage: func(t *testing.T, root string, m *catalog.Manifest) {
				flipByte(t, storedPath(root, m.DataObjectKey()), func(int) int { return 5 })
			},
			wantErr:  []string{"sha256", "the data is corrupt"},
			checksum: true,
		},
		{
			name: "extra changed",
			damage: func(t *testing.T, root string, m *catalog.Manifest) {
				flipByte(t, storedPath(root, m.ExtraKey(m.Extras[0].Name)), func(n int) int { return n / 2 })
			},
			wantErr:  []string{"globals.sql", "sha256"},
			checksum: true,
		},
		{
			name:    "encrypted extra changed",
			encrypt: true,
			damage: func(t *testing.T, root string, m *catalog.Manifest) {
				flipByte(t, storedPath(root, m.ExtraKey(m.Extras[0].Name)), func(n int) int { return n - 3 })
			},
			wantErr: []string{"globals.sql.age"},
		},
		{
			name: "extra missing",
			damage: func(t *testing.T, root string, m *catalog.Manifest) {
				if err := os.Remove(storedPath(root, m.ExtraKey(m.Extras[0].Name))); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: []string{"globals.sql"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testApp(t, localOnly, tt.encrypt)
			res := backUp(t, a, snapshotSource(globals...))
			if res.Status() != pipeline.StatusOK {
				t.Fatal(res.Error())
			}
			tt.damage(t, a.Config.Destinations[0].File.Path, res.Manifest)
			v, err := a.VerifyAll(t.Context(), "vault", "latest", "", "")
			if err != nil || len(v.Copies) != 1 {
				t.Fatalf("verify: %v %v", v, err)
			}
			r := v.Copies[0]
			if len(tt.wantErr) == 0 {
				if r.Err != nil {
					t.Fatalf("a good copy failed verification: %v", r.Err)
				}
				if !strings.Contains(r.Detail, "SHA256SUMS ok") || !strings.Contains(r.Detail, res.Manifest.Extras[0].Name+" ok") {
					t.Fatalf("detail %q does not report the snapshot and extra checks", r.Detail)
				}
				return
			}
			if r.Err == nil {
				t.Fatalf("a damaged copy verified: %s", r.Detail)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(r.Err.Error(), want) {
					t.Fatalf("error does not say %q: %v", want, r.Err)
				}
			}
			if tt.checksum && !errors.Is(r.Err, pipeline.ErrChecksum) {
				t.Fatalf("error is not a checksum mismatch: %v", r.Err)
			}
		})
	}
}

// CheckStored reads to EOF even when the artifact check is satisfied early, so trailing
// changed bytes are caught by the manifest's sha256.
func TestCheckStoredReadsToTheEnd(t *testing.T) {
	snap := vaulttest.Snapshot()
	good := pipeline.Unwrap{SHA256: sha(snap), Size: int64(len(snap))}
	changed := bytes.Clone(snap)
	changed[6] ^= 0xff
	src, err := testApp(t, localOnly, false).Config.Source("vault")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"unchanged": snap, "mtime changed": changed} {
		t.Run(name, func(t *testing.T) {
			rc, err := pipeline.UnwrapReader(nopCloser{bytes.NewReader(data)}, good, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = CheckStored(t.Context(), src, rc)
			if wantErr := name != "unchanged"; (err != nil) != wantErr || (wantErr && !errors.Is(err, pipeline.ErrChecksum)) {
				t.Fatalf("CheckStored = %v", err)
			}
		})
	}
}
