// Package drill rehearses restores: it restores a backup into a scratch instance, checks
// that what should be there is there, records the outcome in the backup's manifest, and
// throws the scratch instance away. A drill never touches the live system.
package drill

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// Report is the outcome of one drill.
type Report struct {
	Source      string
	BackupID    string
	Destination string
	Started     time.Time
	Duration    time.Duration
	Checks      []Check
	Err         error // the drill failed: restore impossible, or a check failed
}

// Check is one verified expectation.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// OK reports whether the restore worked and every check passed.
func (r *Report) OK() bool { return r.Err == nil }

func (r *Report) check(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// failedChecks turns failed checks into the report's error.
func (r *Report) failedChecks() error {
	var bad []string
	for _, c := range r.Checks {
		if !c.OK {
			bad = append(bad, c.Name+": "+c.Detail)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d checks failed: %s", len(bad), len(r.Checks), strings.Join(bad, "; "))
}

// Summary is a one-line description for logs and the CLI.
func (r *Report) Summary() string {
	if r.Err != nil {
		return fmt.Sprintf("drill of %s (%s from %s) FAILED after %s: %v", r.Source, r.BackupID, r.Destination, r.Duration.Round(time.Second), r.Err)
	}
	return fmt.Sprintf("drill of %s (%s from %s) passed %d checks in %s", r.Source, r.BackupID, r.Destination, len(r.Checks), r.Duration.Round(time.Second))
}

// Record appends the drill's outcome to the backup's manifest in the destination it was
// read from, so `list` and the web page can show when a backup was last proven
// restorable. Rewriting a manifest is one atomic Put of a complete document.
func Record(ctx context.Context, loc app.Located, r *Report) error {
	m := *loc.Manifest
	m.Drills = append(append([]catalog.DrillRecord{}, m.Drills...), catalog.DrillRecord{At: r.Started.Add(r.Duration).UTC(), OK: r.OK(), Detail: shorten(r.Summary(), 500)})
	// Keep the record bounded: the last 20 drills are plenty to see a trend.
	if len(m.Drills) > 20 {
		m.Drills = m.Drills[len(m.Drills)-20:]
	}
	body, err := catalog.Encode(&m)
	if err != nil {
		return err
	}
	if err := loc.Dest.Store.Put(ctx, m.Key(), bytes.NewReader(body)); err != nil {
		return fmt.Errorf("record the drill in %s's manifest: %w", loc.Dest.Name, err)
	}
	return nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
