// Package restore is the one path from a backup reference to a restored system, shared by
// `restore`, `vault auto-restore`, `drill`, `recover` and serve's drills: choose the
// backup, verify it in full (falling back over copies, then older backups), let the kind
// check the target, run the restore hooks, restore, and confirm — returning a typed
// report. A kind whose restore commits nothing of a stream cut short (source.ReadOnce:
// `restore` of PostgreSQL and Vault) is verified while it restores instead, reading the
// backup once (readonce.go). What is restored and how is the kind's (source.Restore); how a backup is chosen
// and proven good is decided here only.
package restore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/hooks"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Request is one restore to run.
type Request struct {
	Source string
	// Ref is a backup id, "latest", or with LocalFiles the path of a local file.
	Ref        string
	LocalFiles bool
	// From reads the backup only from this destination.
	From         string
	IdentityFile string
	// SameBackup falls back only to other copies of the chosen backup, never to an older
	// backup: a drill proves one backup.
	SameBackup bool
	// Hooks runs the source's restore hooks (scale-down, commands) around the restore.
	Hooks bool
	// Restore is the kind's restore, drill or recovery.
	Restore source.Restore
	// Refusal starts the error of a restore refused before anything changed; default
	// "refusing to restore". When set, a failure to find a backup is one too.
	Refusal string
	// Env carries the progress writer (the operator's lines), the logger and the clock.
	Env source.Env
}

// Stage names a step of a restore, for reports and errors.
type Stage string

const (
	StagePrepare Stage = "prepare"
	StageChoose  Stage = "choose"
	StageVerify  Stage = "verify"
	StageCheck   Stage = "check"
	StageRestore Stage = "restore"
	StageDone    Stage = "done"
)

// Report is what a restore did.
type Report struct {
	Source string
	// BackupID, Destination and Manifest describe the backup restored (or tried last);
	// Destination is empty and Manifest may be nil for a local file.
	BackupID    string
	Label       string
	Destination string
	Manifest    *catalog.Manifest
	// Copy is the copy used, nil for a local file or when none was chosen.
	Copy *app.Located
	// Skipped are the copies passed over, each with why (did not verify, no identity).
	Skipped []error
	// Unlisted are destinations that could not be searched: a newer backup may be there.
	Unlisted []error
	// Damaged are the copies the listing found unusable (see inventory.Damaged) of the
	// backup chosen and, for "latest", of newer backups.
	Damaged  []inventory.Damaged
	Checks   []source.Check
	Started  time.Time
	Duration time.Duration
	// NothingToDo: the kind found nothing to restore (an initialised Vault for
	// auto-restore).
	NothingToDo bool
	// Stage is where the restore ended: StageDone, or the step that failed.
	Stage Stage
	Err   error
}

// OK reports whether the restore (or drill) worked and every check passed.
func (r *Report) OK() bool { return r.Err == nil }

// Run runs req. The error is the report's Err: nil when restored (or nothing was to do).
// It wraps source.ErrUsage for what the caller asked wrongly.
func Run(ctx context.Context, a *app.App, req Request) (*Report, error) {
	env := req.Env
	r := &Report{Source: req.Source, Started: env.Time()}
	r.Err = run(ctx, a, req, r)
	r.Duration = env.Time().Sub(r.Started)
	if r.Err == nil {
		r.Stage = StageDone
	}
	return r, r.Err
}

func run(ctx context.Context, a *app.App, req Request, r *Report) error {
	src, err := a.Config.Source(req.Source)
	if err != nil {
		r.Stage = StageChoose
		return fmt.Errorf("%w: %w", source.ErrUsage, err)
	}
	r.Stage = StagePrepare
	if err := req.Restore.Prepare(ctx); err != nil {
		if errors.Is(err, source.ErrNothingToDo) {
			r.NothingToDo = true
			return nil
		}
		return err
	}
	r.Stage = StageChoose
	first, rest, err := choose(ctx, a, src, req, r)
	if err != nil {
		if req.Refusal != "" && !errors.Is(err, source.ErrUsage) {
			return fmt.Errorf("%s: no usable backup: %w", req.Refusal, err)
		}
		return err
	}
	// A backup with a manifest is checked before it is read: a wrong password or a
	// refused downgrade is known in a moment. A loose file is checked once verified, as
	// what the kind checks is then read from its content.
	var checked *source.Backup
	if first.backup.Manifest != nil {
		r.Stage = StageCheck
		if err := req.Restore.Check(ctx, first.backup); err != nil {
			return err
		}
		checked = first.backup
	}
	t := &attempts{a: a, req: req, r: r, fallbacks: rest, checked: checked}
	t.printNotes()
	if readsOnce(req.Restore, first) {
		return t.restoreOnce(ctx, src, first)
	}
	r.Stage = StageVerify
	c, err := t.verify(ctx, first)
	if err != nil {
		return err
	}
	b := c.backup
	if b != checked {
		r.Stage = StageCheck
		if err := req.Restore.Check(ctx, b); err != nil {
			return err
		}
	}
	r.Stage = StageRestore
	restore := func(ctx context.Context) error {
		checks, err := req.Restore.Run(ctx, b)
		r.Checks = append(r.Checks, checks...)
		if err != nil {
			return err
		}
		return source.FailedChecks(checks)
	}
	return t.aroundHooks(ctx, src, restore)
}

// aroundHooks runs restore inside the source's restore hooks when the request asks for
// them.
func (t *attempts) aroundHooks(ctx context.Context, src *config.Source, restore func(context.Context) error) error {
	if t.req.Hooks && src.Restore != nil {
		return hooks.Around(ctx, src.Restore, hooks.ClientFrom(src.Restore.Kubernetes), t.req.Env.Log(), restore)
	}
	return restore(ctx)
}

// choose resolves req.Ref to the candidate to verify first and the ones to fall back to,
// in order. It does not read the backup.
func choose(ctx context.Context, a *app.App, src *config.Source, req Request, r *Report) (*candidate, []app.Located, error) {
	ref := req.Ref
	if ref == "" {
		ref = "latest"
	}
	if req.LocalFiles {
		if fi, err := os.Stat(ref); err == nil && !fi.IsDir() {
			c, err := fromFile(a, src, ref, req.IdentityFile)
			if err != nil {
				return nil, nil, err
			}
			r.use(c)
			return c, nil, nil
		} else if strings.ContainsRune(ref, os.PathSeparator) {
			return nil, nil, fmt.Errorf("%w: %s: %v", source.ErrUsage, ref, err)
		}
	}
	if _, err := a.ResolveSource(ref, req.Source); err != nil {
		return nil, nil, err
	}
	inv, err := a.Inventory(ctx, req.Source, req.From)
	if err != nil {
		return nil, nil, err
	}
	r.Unlisted = inv.Unlisted()
	copies, err := inv.Candidates(ref)
	if err != nil {
		return nil, nil, err
	}
	// Damaged copies are never hidden: those of the backup restored, and for "latest"
	// those of newer backups, are why the restore uses what it uses.
	r.Damaged = inv.Damaged(ref, copies[0].Manifest.ID)
	if req.SameBackup {
		copies = sameBackup(copies)
	}
	// A missing identity for the newest backup is a config problem to fix, not a reason
	// to restore older data: it is an error here rather than a fallback.
	c, err := fromCopy(a, copies[0], req.IdentityFile)
	if err != nil {
		return nil, nil, err
	}
	r.use(c)
	return c, copies[1:], nil
}

// sameBackup keeps the copies of the first (newest) backup.
func sameBackup(copies []app.Located) []app.Located {
	var out []app.Located
	for _, c := range copies {
		if c.Manifest.ID == copies[0].Manifest.ID {
			out = append(out, c)
		}
	}
	return out
}

func (r *Report) use(c *candidate) {
	r.BackupID, r.Label, r.Destination, r.Manifest, r.Copy = c.backup.ID, c.backup.Label, c.backup.Destination, c.backup.Manifest, c.copy
}

// attempts is the state of the search for a good backup: the copies left to fall back
// to, and why the ones tried did not do.
type attempts struct {
	a         *app.App
	req       Request
	r         *Report
	fallbacks []app.Located
	failed    []error
	checked   *source.Backup // the backup Check passed last
}

// printNotes says what the listing found that the operator should know.
func (t *attempts) printNotes() {
	for _, err := range t.r.Unlisted {
		t.req.Env.Printf("  note: %v\n", err)
	}
	for _, d := range t.r.Damaged {
		t.req.Env.Printf("  note: %s in %s is DAMAGED, not used: %s\n", d.ID, d.Destination, d.Reason())
	}
}

// verify reads the candidate in full — size and sha256 against the manifest, decryption,
// the artifact's own checks, and its extras — before anything is touched. When a copy
// does not verify it says why and moves on: to the other copies of the same backup, then
// (for "latest") to older backups, until one verifies. A local file has nothing to fall
// back to.
func (t *attempts) verify(ctx context.Context, c *candidate) (*candidate, error) {
	env := t.req.Env
	for {
		env.Printf("verifying %s ...\n", c.backup.Label)
		err := c.verify(ctx)
		if err == nil {
			env.Printf("  verified: checksum and contents are good\n")
			t.printSignature(c)
			return c, nil
		}
		if c, err = t.skip(c, err); err != nil {
			return nil, err
		}
	}
}

func (t *attempts) printSignature(c *candidate) {
	if m := c.backup.Manifest; m != nil {
		// The listing already refused what the configured keys do not accept; this says
		// what was accepted, --allow-unsigned included.
		t.req.Env.Printf("  signature: %s\n", m.SignedBy())
	}
}

// skip records why c is not used and returns the next candidate, or the refusal when
// none is left.
func (t *attempts) skip(c *candidate, why error) (*candidate, error) {
	env := t.req.Env
	t.failed = append(t.failed, why)
	t.r.Skipped = append(t.r.Skipped, why)
	next, ok := nextCandidate(t.a, t.req, &t.fallbacks, t.r)
	if !ok {
		refusal := t.req.Refusal
		if refusal == "" {
			refusal = "refusing to restore"
		}
		if len(t.failed) == 1 {
			return nil, fmt.Errorf("%s: %w", refusal, t.failed[0])
		}
		return nil, fmt.Errorf("%s: none of the %d copies verifies (see `lifeboat verify` and `lifeboat list`): %w", refusal, len(t.failed), errors.Join(t.failed...))
	}
	env.Printf("  does not verify, skipping it: %v\n", why)
	if next.backup.ID != c.backup.ID {
		env.Printf("  falling back to an older backup: %s\n", next.backup.ID)
	}
	t.r.use(next)
	return next, nil
}

// nextCandidate pops the next fallback whose identity is available.
func nextCandidate(a *app.App, req Request, fallbacks *[]app.Located, r *Report) (*candidate, bool) {
	for len(*fallbacks) > 0 {
		loc := (*fallbacks)[0]
		*fallbacks = (*fallbacks)[1:]
		c, err := fromCopy(a, loc, req.IdentityFile)
		if err != nil {
			req.Env.Printf("  skipping backup %s from %s: %v\n", loc.Manifest.ID, loc.Dest.Name, err)
			r.Skipped = append(r.Skipped, fmt.Errorf("backup %s from %s: %w", loc.Manifest.ID, loc.Dest.Name, err))
			continue
		}
		return c, true
	}
	return nil, false
}
