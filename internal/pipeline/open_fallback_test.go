package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A destination that could not be opened (missing credentials file, unmounted volume) is
// that destination's failure in the run, never the whole run's.
func TestRunReportsADestinationThatCouldNotBeOpened(t *testing.T) {
	openErr := errors.New("read secret file /etc/lifeboat/s3-key: no such file or directory")
	tests := []struct {
		name       string
		good       bool // include a working file destination first
		want       Status
		wantOpened int
	}{
		{"one of two", true, StatusPartial, 1},
		{"the only one", false, StatusFailed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dests []Destination
			st := newFileStore(t)
			if tt.good {
				dests = append(dests, Destination{Name: "local", Store: st})
			}
			dests = append(dests, Destination{Name: "minio", OpenErr: openErr, Where: "s3://backups (127.0.0.1:9)"})
			src := vaultSource(randomBytes(1 << 20))
			res := (&Pipeline{BufferSize: 64 << 10}).Run(context.Background(), src, dests)
			if res.Status() != tt.want {
				t.Fatalf("status = %s, want %s (%v)", res.Status(), tt.want, res.Error())
			}
			if src.Opens() != tt.wantOpened {
				t.Fatalf("source opened %d times, want %d", src.Opens(), tt.wantOpened)
			}
			bad := res.Destinations[len(res.Destinations)-1]
			if bad.OK || !errors.Is(bad.Err, openErr) || bad.Store != "s3://backups (127.0.0.1:9)" {
				t.Fatalf("unopened destination result = %+v", bad)
			}
			msg := res.Error().Error()
			if !strings.Contains(msg, "destination minio") || !strings.Contains(msg, "/etc/lifeboat/s3-key") {
				t.Fatalf("error does not name the destination and the missing file: %v", msg)
			}
			if tt.good {
				if !res.Destinations[0].OK || res.Manifest == nil {
					t.Fatalf("the working destination did not commit: %+v", res.Destinations[0])
				}
				readAll(t, st, res.Manifest.Key())
			}
		})
	}
}
