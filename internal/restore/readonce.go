package restore

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/holdback"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// A restore that reads the backup once (source.ReadOnce) verifies it while restoring
// instead of before: reading a 600 MB dump twice made a restore 1.2 times as long as a
// plain pg_restore. The stream the kind's Run reads is the one pipeline.OpenBackup
// checks (size and sha256 against the manifest, age, zstd), with its last
// holdback.Size bytes held back until that check passed at the stream's end, so the
// kind cannot finish, let alone commit, a backup that is then found bad; it gets an
// error instead and stops, leaving the target as it was. The copy is then skipped as a
// copy that does not verify is, and the restore runs again from the next one, inside the
// same restore hooks.
//
// What this does not read is the artifact's own check (CheckArtifact: pg_restore --list,
// the snapshot's archive). A matching sha256 proves the bytes are those the backup
// stored, and the backup checked them (Artifact.Inspect) before it committed them; the
// kind's restore reads the whole artifact anyway. The small extras are read in full
// before the restore, as verify reads them.

// readsOnce reports whether c is restored while it is verified: the kind's restore
// supports it, and c has a manifest whose sha256 proves the stream. A loose file without
// one is verified first, by its content.
func readsOnce(rs source.Restore, c *candidate) bool {
	ro, ok := rs.(source.ReadOnce)
	return ok && ro.ReadOnce() && streamed(c)
}

func streamed(c *candidate) bool {
	m := c.backup.Manifest
	return m != nil && m.SHA256 != ""
}

// restoreOnce restores c, verifying it as it is read, and falls back over the other
// copies (and, for "latest", older backups) when it does not verify.
func (t *attempts) restoreOnce(ctx context.Context, src *config.Source, c *candidate) error {
	r := t.r
	c, err := t.ready(ctx, c)
	if err != nil {
		return err
	}
	restore := func(ctx context.Context) error {
		for {
			r.Stage = StageRestore
			checks, err, bad := t.runOnce(ctx, c)
			if bad == nil {
				r.Checks = append(r.Checks, checks...)
				if err != nil {
					return err
				}
				return source.FailedChecks(checks)
			}
			// Nothing was applied (source.ReadOnce): what the kind says about it is a
			// detail for the operator, the copy's fault is the reason.
			t.req.Env.Printf("  the restore from it stopped before the backup's end: %v\n", err)
			r.Stage = StageVerify
			if c, err = t.skip(c, bad); err != nil {
				return err
			}
			if c, err = t.ready(ctx, c); err != nil {
				return err
			}
		}
	}
	return t.aroundHooks(ctx, src, restore)
}

// ready finds, from c on, the first candidate whose extras verify, checked by the kind:
// the small part of verify that still runs before the restore. A candidate a restore
// cannot stream (no sha256 in its manifest) is verified in full.
func (t *attempts) ready(ctx context.Context, c *candidate) (*candidate, error) {
	env := t.req.Env
	for {
		t.r.Stage = StageVerify
		var err error
		if streamed(c) {
			env.Printf("verifying %s while restoring it: its end is held back until the whole backup verified ...\n", c.backup.Label)
			err = verifyExtras(ctx, c)
		} else {
			env.Printf("verifying %s ...\n", c.backup.Label)
			if err = c.verify(ctx); err == nil {
				env.Printf("  verified: checksum and contents are good\n")
			}
		}
		if err != nil {
			if c, err = t.skip(c, err); err != nil {
				return nil, err
			}
			continue
		}
		t.printSignature(c)
		if c.backup != t.checked {
			t.r.Stage = StageCheck
			if err := t.req.Restore.Check(ctx, c.backup); err != nil {
				return nil, err
			}
			t.checked = c.backup
		}
		return c, nil
	}
}

// verifyExtras reads each extra of c in full through its checksum.
func verifyExtras(ctx context.Context, c *candidate) error {
	for _, x := range c.backup.Manifest.Extras {
		rc, err := c.backup.OpenExtra(ctx, x.Name)
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		if err != nil {
			return c.name(fmt.Errorf("%s: %w", x.Name, err))
		}
	}
	return nil
}

// runOnce runs the kind's restore of c with every stream it opens held back at its end
// (holdback). bad is set when the backup did not verify (or could not be read) and the
// restore stopped for it: nothing was applied and the next copy may be tried. err is the
// restore's own error otherwise.
func (t *attempts) runOnce(ctx context.Context, c *candidate) (checks []source.Check, err, bad error) {
	var (
		mu      sync.Mutex
		openErr error
		streams []*holdback.Reader
		closers []io.Closer
	)
	b := *c.backup
	b.Open = func(ctx context.Context) (io.ReadCloser, error) {
		rc, err := c.backup.Open(ctx)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			openErr = cmp(openErr, err)
			return nil, err
		}
		h := holdback.New(rc, holdback.Size)
		streams, closers = append(streams, h), append(closers, rc)
		// Closed below, once it is known whether the rest must still be read.
		return struct {
			io.Reader
			io.Closer
		}{h, nopCloser{}}, nil
	}
	defer func() {
		for _, rc := range closers {
			rc.Close()
		}
	}()
	checks, err = t.req.Restore.Run(ctx, &b)
	if ctx.Err() != nil {
		return checks, err, nil // interrupted: not the copy's fault, and no reason to go on
	}
	mu.Lock()
	failure := openErr
	for _, h := range streams {
		failure = cmp(failure, h.Failed())
	}
	mu.Unlock()
	switch {
	case failure != nil && err != nil:
		return checks, err, c.name(fmt.Errorf("%w (found while restoring it: the restore stopped before the backup's end and applied nothing)", failure))
	case failure != nil:
		// The kind finished without the held-back end: it broke source.ReadOnce's promise.
		return checks, fmt.Errorf("restored %s, but reading it failed at its end: %w; check the restored system", c.backup.Label, failure), nil
	case err != nil:
		return checks, err, nil
	}
	// The restore needed less than the whole stream (it did not read the held-back end):
	// the rest is read now, as the backup is proven good only at its end.
	for _, h := range streams {
		if h.Verified() {
			continue
		}
		if _, derr := io.Copy(io.Discard, h); derr != nil {
			return checks, fmt.Errorf("restored %s, but the rest of it, which the restore did not read, does not verify: %w; check the restored system, or restore another backup", c.backup.Label, c.name(derr)), nil
		}
	}
	t.req.Env.Printf("  verified: the whole backup matched its checksum before its end was restored\n")
	return checks, nil, nil
}

// cmp keeps the first error.
func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// name prefixes err with the copy it is about, as app.VerifyCopy's errors are.
func (c *candidate) name(err error) error {
	if c.copy != nil {
		return fmt.Errorf("%s in %s (%s): %w", c.backup.ID, c.copy.Dest.Name, c.copy.Dest.Store, err)
	}
	return fmt.Errorf("%s: %w", c.backup.Label, err)
}
