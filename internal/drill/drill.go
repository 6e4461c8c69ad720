// Package drill rehearses restores: it restores a backup into a scratch instance through
// the restore core (internal/restore) with the kind's drill, checks that what should be
// there is there, records the outcome as a drill record next to the backup (never in its
// manifest: a committed backup is write-once), and throws the scratch instance away. A
// drill never touches the live system.
package drill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/kinds"
	"github.com/lifeboat-backup/lifeboat/internal/restore"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Options choose what a drill restores.
type Options struct {
	Backup       string // id or "latest" (default)
	From         string // destination; default the first holding the backup
	IdentityFile string
	NoRecord     bool      // do not write a drill record
	Out          io.Writer // progress lines; nil discards them
}

// Report is the outcome of one drill.
type Report struct {
	*restore.Report
}

// Summary is a one-line description for logs and the CLI.
func (r *Report) Summary() string {
	skipped := ""
	if n := len(r.Skipped); n > 0 {
		skipped = fmt.Sprintf(" (%d damaged copies skipped: see `lifeboat verify %s`)", n, r.BackupID)
	}
	if r.Err != nil {
		return fmt.Sprintf("drill of %s (%s from %s) FAILED after %s: %v%s", r.Source, r.BackupID, r.Destination, r.Duration.Round(time.Second), r.Err, skipped)
	}
	return fmt.Sprintf("drill of %s (%s from %s) passed %d checks in %s%s", r.Source, r.BackupID, r.Destination, len(r.Checks), r.Duration.Round(time.Second), skipped)
}

// Run drills one source: the backup is chosen and verified (falling back only over the
// copies of that backup: a drill proves one backup), restored into a scratch instance by
// the source's kind and checked, and the outcome is recorded (Record) beside the copy it
// read. The error is for problems before a drill could start (unknown source, no
// backup, no drill settings); the drill's own outcome is in the Report.
func Run(ctx context.Context, a *app.App, name string, o Options) (*Report, error) {
	src, err := a.Config.Source(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", source.ErrUsage, err)
	}
	k, err := kinds.Of(src)
	if err != nil {
		return nil, err
	}
	env := source.Env{Logger: a.Logger, Out: o.Out, Clock: a.Clock}
	d, err := k.Drill(src, env)
	if err != nil {
		return nil, err
	}
	rep, err := restore.Run(ctx, a, restore.Request{
		Source: name, Ref: o.Backup, From: o.From, IdentityFile: o.IdentityFile,
		SameBackup: true, Restore: d, Env: env,
	})
	if err != nil && (rep.Stage == restore.StageChoose || errors.Is(err, source.ErrUsage)) {
		return nil, err
	}
	r := &Report{rep}
	if !o.NoRecord && rep.Copy != nil {
		if err := Record(ctx, *rep.Copy, r); err != nil {
			a.Logger.Warn("drill outcome not recorded", "source", name, "backup", rep.BackupID, "err", err)
		}
	}
	return r, nil
}

// Record writes the drill's outcome as a drill record (catalog.DrillKey) in the backup's
// directory in the destination it was read from, so `list`, status, metrics and the web
// page show when a backup was last proven restorable. The manifest is never rewritten: a
// committed backup is write-once, and its signature covers the manifest as the backup
// pod wrote it.
func Record(ctx context.Context, loc app.Located, r *Report) error {
	m := loc.Manifest
	at := r.Started.Add(r.Duration).UTC()
	body, err := catalog.EncodeDrill(catalog.DrillObject{BackupID: m.ID, At: at, OK: r.OK(), Detail: shorten(r.Summary(), 500)})
	if err != nil {
		return err
	}
	key := catalog.DrillKey(m.Source.Name, m.ID, at, r.OK())
	if err := loc.Dest.Store.Put(ctx, key, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("record the drill as %s in %s: %w", key, loc.Dest.Name, err)
	}
	return nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
