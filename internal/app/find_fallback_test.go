package app

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// Candidates is the order a restore falls back in: copies of the newest backup first (in
// destination order), then older backups; a destination that cannot be searched is
// returned, not hidden.
func TestCandidatesOrderAndUnlisted(t *testing.T) {
	a := testApp(t, `
  - name: a
    kind: file
    file: {path: "DIR/a"}
  - name: b
    kind: file
    file: {path: "DIR/b"}
  - name: gone
    kind: file
    file: {path: "DIR/not-mounted"}
`, false)
	// Both in the same second, the newer with the smaller random suffix: "newest" must
	// follow the creation time, as list and prune do, not the id's suffix.
	const older, newer = "vault-20261201T101500Z-ffff", "vault-20261201T101500Z-0000"
	for _, id := range []string{older, newer} {
		if res := backUpAs(t, a, snapshotSource(), id, "a", "b"); res.Status() != pipeline.StatusOK {
			t.Fatal(res.Error())
		}
	}
	tests := []struct {
		ref, only string
		search    bool // Copies instead of Candidates
		want      []string
		unlisted  bool
	}{
		{ref: "latest", want: []string{newer + "@a", newer + "@b", older + "@a", older + "@b"}, unlisted: true},
		{ref: "latest", search: true, want: []string{newer + "@a", newer + "@b"}, unlisted: true},
		{ref: older, want: []string{older + "@a", older + "@b"}, unlisted: true},
		{ref: "latest", only: "b", want: []string{newer + "@b", older + "@b"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/search=%v", tt.ref, tt.only, tt.search), func(t *testing.T) {
			inv, err := a.Inventory(t.Context(), "vault", tt.only)
			if err != nil {
				t.Fatal(err)
			}
			find := inv.Candidates
			if tt.search {
				find = inv.Copies
			}
			got, err := find(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			unlisted := inv.Unlisted()
			var ids []string
			for _, c := range got {
				ids = append(ids, c.Manifest.ID+"@"+c.Dest.Name)
			}
			if strings.Join(ids, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("got %v, want %v", ids, tt.want)
			}
			if tt.unlisted != (len(unlisted) == 1) || tt.unlisted && !strings.Contains(errors.Join(unlisted...).Error(), "destination gone") {
				t.Fatalf("unlisted = %v", unlisted)
			}
		})
	}
}
