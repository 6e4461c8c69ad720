package inventory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/store/file"
)

var now = time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)

// day is the backup of source "vault" taken at noon on that day of December 2026.
func day(n int) string { return fmt.Sprintf("vault-202612%02dT120000Z-%04x", n, n) }

// dirs is an Opener over file stores in a temporary directory; a destination whose
// directory does not exist cannot be opened, like an unmounted volume.
type dirs struct {
	root      string
	names     []string
	retention map[string]catalog.Policy
}

func (o dirs) DestinationNames(_, only string) ([]string, error) {
	if only != "" {
		return []string{only}, nil
	}
	return o.names, nil
}

func (o dirs) Destination(name string, create bool) (pipeline.Destination, error) {
	st, err := file.New(filepath.Join(o.root, name), file.Options{Create: create})
	if err != nil {
		return pipeline.Destination{}, fmt.Errorf("destination %s: %w", name, err)
	}
	return pipeline.Destination{Name: name, Store: st, Retention: o.retention[name]}, nil
}

// put commits backup id in destination dest; truncated stores one byte less data than
// the manifest records.
func (o dirs) put(t *testing.T, dest, id string, truncated bool) {
	t.Helper()
	_, created, err := catalog.ParseBackupID(id)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("snapshot " + id)
	sum := sha256.Sum256(data)
	m := &catalog.Manifest{FormatVersion: catalog.FormatVersion, ID: id, Source: catalog.SourceRef{Kind: "vault", Name: "vault"},
		Created: created, Finished: created.Add(time.Minute), DataKey: "data.snap", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	if truncated {
		data = data[:len(data)-1]
	}
	d, err := o.Destination(dest, true)
	if err != nil {
		t.Fatal(err)
	}
	body, err := catalog.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	for key, b := range map[string][]byte{m.DataObjectKey(): data, m.Key(): body} {
		if err := d.Store.Put(context.Background(), key, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
}

func copyNames(cs []Copy) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Manifest.ID+"@"+c.Dest.Name)
	}
	return out
}

func TestInventory(t *testing.T) {
	type stored struct {
		dest, id  string
		truncated bool
	}
	tests := []struct {
		name      string
		dests     []string // "gone" is never created: it cannot be opened
		retention map[string]catalog.Policy
		stored    []stored
		ref, only string
		// want
		candidates []string
		copies     []string
		notFound   bool
		damaged    []string // id@destination of Damaged(ref, first copy's id)
		missing    []string // destinations of Missing(first copy's id)
		unlisted   []string // destinations
	}{
		{
			name: "ordering: newest backup first, destination order within one backup", dests: []string{"a", "b"},
			stored:     []stored{{"b", day(2), false}, {"a", day(1), false}, {"a", day(2), false}, {"b", day(1), false}},
			ref:        "latest",
			candidates: []string{day(2) + "@a", day(2) + "@b", day(1) + "@a", day(1) + "@b"},
			copies:     []string{day(2) + "@a", day(2) + "@b"},
		},
		{
			name: "an id", dests: []string{"a", "b"},
			stored: []stored{{"a", day(1), false}, {"a", day(2), false}, {"b", day(1), false}},
			ref:    day(1), candidates: []string{day(1) + "@a", day(1) + "@b"}, copies: []string{day(1) + "@a", day(1) + "@b"},
		},
		{
			name: "damaged copy: reported, not a candidate, not missing", dests: []string{"a", "b"},
			stored:     []stored{{"a", day(1), false}, {"a", day(2), false}, {"b", day(1), false}, {"b", day(2), true}},
			ref:        "latest",
			candidates: []string{day(2) + "@a", day(1) + "@a", day(1) + "@b"},
			copies:     []string{day(2) + "@a"},
			damaged:    []string{day(2) + "@b"},
		},
		{
			name: "latest reports damaged copies of a newer backup too", dests: []string{"a", "b"},
			stored:  []stored{{"a", day(1), false}, {"b", day(1), false}, {"a", day(2), true}},
			ref:     "latest",
			copies:  []string{day(1) + "@a", day(1) + "@b"},
			damaged: []string{day(2) + "@a"},
		},
		{
			name: "an id reports its own damaged copies only", dests: []string{"a", "b"},
			stored: []stored{{"a", day(1), false}, {"b", day(1), false}, {"a", day(2), true}},
			ref:    day(1),
			copies: []string{day(1) + "@a", day(1) + "@b"},
		},
		{
			name: "missing by absence: b holds older backups and keeps everything", dests: []string{"a", "b"},
			stored:  []stored{{"a", day(1), false}, {"b", day(1), false}, {"a", day(2), false}},
			ref:     "latest",
			copies:  []string{day(2) + "@a"},
			missing: []string{"b"},
		},
		{
			name: "not missing in a destination added after the backup", dests: []string{"a", "b"},
			stored: []stored{{"a", day(1), false}, {"a", day(2), false}, {"b", day(3), false}, {"a", day(3), false}},
			ref:    day(1), copies: []string{day(1) + "@a"},
		},
		{
			name: "not missing where retention pruned it", dests: []string{"a", "b"},
			retention: map[string]catalog.Policy{"b": {KeepLast: 1}},
			stored:    []stored{{"a", day(1), false}, {"b", day(1), false}, {"a", day(2), false}, {"a", day(3), false}, {"b", day(3), false}},
			ref:       day(2), copies: []string{day(2) + "@a"},
		},
		{
			name: "missing by retention: b's policy would keep it", dests: []string{"a", "b"},
			retention: map[string]catalog.Policy{"b": {KeepLast: 3}},
			stored:    []stored{{"a", day(1), false}, {"b", day(1), false}, {"a", day(2), false}, {"a", day(3), false}, {"b", day(3), false}},
			ref:       day(2), copies: []string{day(2) + "@a"},
			missing: []string{"b"},
		},
		{
			name: "unlisted destination: reported, never missing", dests: []string{"a", "gone"},
			stored: []stored{{"a", day(1), false}},
			ref:    "latest", copies: []string{day(1) + "@a"},
			unlisted: []string{"gone"},
		},
		{
			name: "only one destination", dests: []string{"a", "b"},
			stored: []stored{{"a", day(1), false}, {"a", day(2), false}, {"b", day(1), false}},
			ref:    "latest", only: "b", copies: []string{day(1) + "@b"},
		},
		{
			name: "not found", dests: []string{"a", "gone"},
			stored: []stored{{"a", day(1), false}},
			ref:    day(2), notFound: true, unlisted: []string{"gone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := dirs{root: t.TempDir(), names: tt.dests, retention: tt.retention}
			for _, s := range tt.stored {
				o.put(t, s.dest, s.id, s.truncated)
			}
			inv, err := Take(t.Context(), o, "vault", tt.only, now)
			if err != nil {
				t.Fatal(err)
			}
			var unlisted []string
			for _, l := range inv.Listings {
				if l.Err != nil {
					unlisted = append(unlisted, l.Name)
				}
			}
			if !slices.Equal(unlisted, tt.unlisted) {
				t.Errorf("unlisted = %v, want %v", unlisted, tt.unlisted)
			}
			if tt.candidates != nil {
				c, err := inv.Candidates(tt.ref)
				if err != nil || !slices.Equal(copyNames(c), tt.candidates) {
					t.Errorf("Candidates = %v, %v; want %v", copyNames(c), err, tt.candidates)
				}
			}
			copies, err := inv.Copies(tt.ref)
			if tt.notFound {
				want := fmt.Sprintf("backup %q not found in any destination of vault", tt.ref)
				if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "could not search destination gone") {
					t.Fatalf("Copies error = %v, want %q and the unlisted destination", err, want)
				}
				return
			}
			if err != nil || !slices.Equal(copyNames(copies), tt.copies) {
				t.Fatalf("Copies = %v, %v; want %v", copyNames(copies), err, tt.copies)
			}
			id := copies[0].Manifest.ID
			var damaged []string
			for _, d := range inv.Damaged(tt.ref, id) {
				damaged = append(damaged, d.ID+"@"+d.Destination)
				if !strings.Contains(d.Reason(), "truncated or replaced") {
					t.Errorf("damaged reason = %q", d.Reason())
				}
			}
			if !slices.Equal(damaged, tt.damaged) {
				t.Errorf("Damaged = %v, want %v", damaged, tt.damaged)
			}
			var missing []string
			for _, m := range inv.Missing(id) {
				missing = append(missing, m.Destination)
			}
			if !slices.Equal(missing, tt.missing) {
				t.Errorf("Missing = %v, want %v", missing, tt.missing)
			}
		})
	}
}

// A destination directory that vanished is not listed as empty.
func TestTakeUnmounted(t *testing.T) {
	o := dirs{root: t.TempDir(), names: []string{"a"}}
	o.put(t, "a", day(1), false)
	if err := os.RemoveAll(filepath.Join(o.root, "a")); err != nil {
		t.Fatal(err)
	}
	inv, err := Take(t.Context(), o, "vault", "", now)
	if err != nil || len(inv.Unlisted()) != 1 {
		t.Fatalf("Take = %+v, %v", inv, err)
	}
}
