package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// A gcs destination is opened from its config block: a backup goes to the emulator and to
// a file destination from one read, and the bucket holds the committed backup under the
// destination's prefix.
func TestBackupToGCS(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("backups")
	a := testApp(t, `
  - name: local
    kind: file
    file: {path: "DIR/local"}
  - name: gcs
    kind: gcs
    prefix: prod
    gcs: {bucket: backups, endpoint: "`+g.URL()+`", chunkSizeMiB: 1}
`, false)
	res := backUp(t, a, snapshotSource())
	if res.Status() != pipeline.StatusOK {
		t.Fatalf("status = %s: %v", res.Status(), res.Error())
	}
	if got, want := res.Destinations[1].Store, "gs://backups/prod ("+g.Endpoint+")"; got != want {
		t.Fatalf("gcs destination reported as %q, want %q", got, want)
	}
	names := g.ObjectNames("backups")
	if !slices.Contains(names, "prod/vault/"+res.ID+"/manifest.json") {
		t.Fatalf("bucket holds %q, want the committed backup %s under prod/", names, res.ID)
	}
	inv, err := a.Inventory(t.Context(), "vault", "gcs")
	if err != nil {
		t.Fatal(err)
	}
	if copies, err := inv.Copies(res.ID); err != nil || len(copies) != 1 {
		t.Fatalf("backup %s in gcs: %v, %v", res.ID, copies, err)
	}
}

// A gcs destination whose key file is not mounted fails alone, reported where it points,
// with the field to fix; the file destination still gets the backup.
func TestGCSDestinationCannotBeOpened(t *testing.T) {
	a := testApp(t, `
  - name: local
    kind: file
    file: {path: "DIR/local"}
  - name: gcs
    kind: gcs
    prefix: prod
    gcs: {bucket: backups, credentialsFile: "DIR/missing-key.json"}
`, false)
	res := backUp(t, a, snapshotSource())
	if res.Status() != pipeline.StatusPartial || !res.Destinations[0].OK || res.Destinations[1].OK {
		t.Fatalf("status = %s, results = %+v", res.Status(), res.Destinations)
	}
	if got := res.Destinations[1].Store; got != "gs://backups/prod" {
		t.Fatalf("the unopened destination is reported at %q", got)
	}
	msg := res.Error().Error()
	if !strings.Contains(msg, "destination gcs") || !strings.Contains(msg, "missing-key.json") || !strings.Contains(msg, "destinations[].gcs.credentialsFile") {
		t.Fatalf("error does not name the destination, the file and the field: %v", msg)
	}
}
