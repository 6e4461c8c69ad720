package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

const localAndBrokenS3 = `
  - name: local
    kind: file
    file: {path: "DIR/local"}
  - name: minio
    kind: s3
    s3:
      endpoint: 127.0.0.1:1
      bucket: backups
      insecure: true
      accessKeyID: {file: "DIR/missing-access-key"}
      secretAccessKey: {file: "DIR/missing-secret-key"}
`

// DESIGN promise 2: a destination that cannot even be opened fails alone; the others
// still get the backup, and the run says which one failed and why.
func TestBackupGoesOnWhenADestinationCannotBeOpened(t *testing.T) {
	a := testApp(t, localAndBrokenS3, false)
	res := backUp(t, a, snapshotSource())
	if res.Status() != pipeline.StatusPartial {
		t.Fatalf("status = %s, want partial: %v", res.Status(), res.Error())
	}
	if len(res.Destinations) != 2 || !res.Destinations[0].OK || res.Destinations[1].OK {
		t.Fatalf("results = %+v", res.Destinations)
	}
	if got := res.Destinations[1].Store; got != "s3://backups (127.0.0.1:1)" {
		t.Fatalf("the unopened destination is reported at %q", got)
	}
	msg := res.Error().Error()
	if !strings.Contains(msg, "destination minio") || !strings.Contains(msg, "missing-access-key") {
		t.Fatalf("error does not name the destination and the missing file: %v", msg)
	}
	inv, err := a.Inventory(t.Context(), "vault", "local")
	if err != nil {
		t.Fatal(err)
	}
	copies, err := inv.Copies(res.ID)
	if err != nil || len(copies) != 1 {
		t.Fatalf("committed backup not found in local: %v %v", copies, err)
	}
}

func TestDestinationsOpensOnlyThoseAskedFor(t *testing.T) {
	a := testApp(t, localAndBrokenS3, false)
	tests := []struct {
		name      string
		only      []string
		wantNames []string
		wantUsage bool
	}{
		{"all", nil, []string{"local", "minio"}, false},
		{"only local never touches minio's credentials", []string{"local"}, []string{"local"}, false},
		{"unknown name", []string{"nope"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dests, err := a.Destinations("vault", tt.only, true)
			if tt.wantUsage {
				if !errors.Is(err, ErrUsage) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range dests {
				names = append(names, d.Name)
				if (d.Name == "minio") != (d.OpenErr != nil) {
					t.Fatalf("%s: OpenErr = %v", d.Name, d.OpenErr)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.wantNames, ",") {
				t.Fatalf("opened %v, want %v", names, tt.wantNames)
			}
		})
	}
	res := backUp(t, a, snapshotSource(), "local")
	if res.Status() != pipeline.StatusOK {
		t.Fatalf("--destination local: status %s: %v", res.Status(), res.Error())
	}
}
