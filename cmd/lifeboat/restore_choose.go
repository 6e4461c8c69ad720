package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// chosenBackup is the backup a restore or drill works from.
type chosenBackup struct {
	label    string
	open     func(ctx context.Context) (io.ReadCloser, error) // the artifact's bytes, fresh each call
	manifest *catalog.Manifest                                // nil for a loose local file without one
	loc      *app.Located                                     // nil for a local file
	dir      string                                           // a local file's directory, where its extras are
	ids      []age.Identity

	// For a backup from the destinations: what verify may fall back to, in order, when
	// the chosen copy does not verify (see verify).
	a            *app.App
	identityFile string
	fallbacks    []app.Located
	unlisted     []error
}

// chooseBackup resolves a backup reference (id, "latest" or a local path). It does not
// read the backup: verify does, and may move on to another copy or an older backup.
func chooseBackup(ctx context.Context, a *app.App, source, ref, from, identityFile string) (*chosenBackup, error) {
	if fi, err := os.Stat(ref); err == nil && !fi.IsDir() {
		return chooseLocalFile(a, ref, identityFile)
	} else if strings.ContainsRune(ref, os.PathSeparator) {
		return nil, usageError("%s: %v", ref, err)
	}
	if _, err := a.ResolveSource(ref, source); err != nil {
		return nil, classify(err)
	}
	candidates, unlisted, err := a.Candidates(ctx, source, ref, from)
	if err != nil {
		return nil, classify(err)
	}
	b := &chosenBackup{a: a, identityFile: identityFile, fallbacks: candidates[1:], unlisted: unlisted}
	// A missing identity for the newest backup is a config problem to fix, not a reason
	// to restore older data: it is an error here rather than a fallback.
	if err := b.use(candidates[0]); err != nil {
		return nil, err
	}
	return b, nil
}

// use makes c the chosen copy.
func (b *chosenBackup) use(c app.Located) error {
	ids, err := b.a.IdentitiesFor(c.Manifest.Encryption != nil, b.identityFile)
	if err != nil {
		return err
	}
	b.label = fmt.Sprintf("backup %s from %s", c.Manifest.ID, c.Dest.Name)
	b.manifest, b.loc, b.ids = c.Manifest, &c, ids
	b.open = func(ctx context.Context) (io.ReadCloser, error) {
		return pipeline.OpenBackup(ctx, c.Dest.Store, c.Manifest, ids)
	}
	return nil
}

// verify reads the chosen backup in full — size and sha256 against the manifest,
// decryption, the artifact's own checks, and its extras — before anything is touched.
// When a copy from the destinations does not verify, it says why and falls back: to the
// other copies of the same backup, then (for "latest") to older backups, until one
// verifies; b is then that one. A local file has nothing to fall back to.
func (b *chosenBackup) verify(ctx context.Context, out io.Writer, src *config.Source) error {
	for _, err := range b.unlisted {
		fmt.Fprintf(out, "  note: %v\n", err)
	}
	var failed []error
	for {
		fmt.Fprintf(out, "verifying %s ...\n", b.label)
		err := b.check(ctx, src)
		if err == nil {
			fmt.Fprintln(out, "  verified: checksum and contents are good")
			return nil
		}
		if b.loc == nil {
			err = fmt.Errorf("%s: %w", b.label, err) // a remote copy's error names it already
		}
		failed = append(failed, err)
		next, ok := b.next(out)
		if !ok {
			if len(failed) == 1 {
				return failed[0]
			}
			return fmt.Errorf("none of the %d copies verifies (see `lifeboat verify` and `lifeboat list`): %w", len(failed), errors.Join(failed...))
		}
		fmt.Fprintf(out, "  does not verify, skipping it: %v\n", err)
		if next.Manifest.ID != b.manifest.ID {
			fmt.Fprintf(out, "  falling back to an older backup: %s\n", next.Manifest.ID)
		}
		if err := b.use(next); err != nil {
			return err
		}
	}
}

// next pops the next fallback whose identity is available; ok is false when none is left.
func (b *chosenBackup) next(out io.Writer) (app.Located, bool) {
	for len(b.fallbacks) > 0 {
		c := b.fallbacks[0]
		b.fallbacks = b.fallbacks[1:]
		if _, err := b.a.IdentitiesFor(c.Manifest.Encryption != nil, b.identityFile); err != nil {
			fmt.Fprintf(out, "  skipping backup %s from %s: %v\n", c.Manifest.ID, c.Dest.Name, err)
			continue
		}
		return c, true
	}
	return app.Located{}, false
}

func (b *chosenBackup) check(ctx context.Context, src *config.Source) error {
	if b.loc != nil {
		_, err := b.a.VerifyCopy(ctx, *b.loc, b.identityFile)
		return err
	}
	if err := verifyArtifact(ctx, b.open, src); err != nil {
		return err
	}
	if b.manifest == nil {
		return nil
	}
	for _, x := range b.manifest.Extras {
		rc, err := b.openExtra(ctx, x.Name)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", x.Name, err)
		}
	}
	return nil
}

// chooseLocalFile uses the manifest.json next to the file when there is one (a copy of a
// backup directory), so its checksum, metadata and extras apply; otherwise the file name
// says how it is wrapped.
func chooseLocalFile(a *app.App, path, identityFile string) (*chosenBackup, error) {
	u := pipeline.Unwrap{Encrypted: strings.HasSuffix(path, ".age"), Compressed: strings.Contains(filepath.Base(path), ".zst")}
	var m *catalog.Manifest
	if data, err := os.ReadFile(filepath.Join(filepath.Dir(path), catalog.ManifestName)); err == nil {
		if mm, err := catalog.Decode(data); err == nil && mm.DataKey == filepath.Base(path) {
			m = mm
			u = pipeline.UnwrapFor(m)
		}
	}
	ids, err := a.IdentitiesFor(u.Encrypted, identityFile)
	if err != nil {
		return nil, err
	}
	b := &chosenBackup{label: "local file " + path, manifest: m, ids: ids, a: a, identityFile: identityFile}
	if m != nil {
		b.label = fmt.Sprintf("local file %s (backup %s)", path, m.ID)
		b.dir = filepath.Dir(path)
	}
	b.open = func(context.Context) (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		return pipeline.UnwrapReader(f, u, ids)
	}
	return b, nil
}

// openExtra opens a side object of the chosen backup (e.g. globals.sql), nil when the
// backup has none of that name.
func (b *chosenBackup) openExtra(ctx context.Context, base string) (io.ReadCloser, error) {
	if b.manifest == nil {
		return nil, nil
	}
	for _, x := range b.manifest.Extras {
		if x.Name != base && !strings.HasPrefix(x.Name, base+".") {
			continue
		}
		if b.loc != nil {
			return pipeline.OpenExtra(ctx, b.loc.Dest.Store, b.manifest, x, b.ids)
		}
		// A copied backup directory: the extra sits next to the data file.
		f, err := os.Open(filepath.Join(b.dir, x.Name))
		if err != nil {
			return nil, fmt.Errorf("%s of backup %s: %w (copy it from the backup's directory next to the data file)", x.Name, b.manifest.ID, err)
		}
		u := pipeline.UnwrapFor(b.manifest)
		u.SHA256, u.Size = x.SHA256, x.Size
		rc, err := pipeline.UnwrapReader(f, u, b.ids)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s of backup %s: %w", x.Name, b.manifest.ID, err)
		}
		return rc, nil
	}
	return nil, nil
}

func verifyArtifact(ctx context.Context, open func(context.Context) (io.ReadCloser, error), src *config.Source) error {
	rc, err := open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = app.CheckStored(ctx, src, rc)
	return err
}
