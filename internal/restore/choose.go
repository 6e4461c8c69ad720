package restore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// candidate is one backup a restore may use: a copy in a destination, or a local file.
type candidate struct {
	backup *source.Backup
	copy   *app.Located // nil for a local file
	// verify reads the whole candidate as a restore would and checks it.
	verify func(ctx context.Context) error
}

// fromCopy makes a candidate of a copy in a destination, with the age identities its
// encryption needs.
func fromCopy(a *app.App, c app.Located, identityFile string) (*candidate, error) {
	ids, err := a.IdentitiesFor(c.Manifest.Encryption != nil, identityFile)
	if err != nil {
		return nil, err
	}
	m := c.Manifest
	b := &source.Backup{
		Label:       fmt.Sprintf("backup %s from %s", m.ID, c.Dest.Name),
		ID:          m.ID,
		Destination: c.Dest.Name,
		Manifest:    m,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			return pipeline.OpenBackup(ctx, c.Dest.Store, m, ids)
		},
		OpenExtra: func(ctx context.Context, base string) (io.ReadCloser, error) {
			x, ok := m.Extra(base)
			if !ok {
				return nil, nil
			}
			return pipeline.OpenExtra(ctx, c.Dest.Store, m, x, ids)
		},
	}
	return &candidate{backup: b, copy: &c, verify: func(ctx context.Context) error {
		_, err := a.VerifyCopy(ctx, c, identityFile)
		return err
	}}, nil
}

// fromFile makes a candidate of a local file. The manifest.json next to it is used when
// it describes the file (a copy of a backup directory), so its checksum, metadata and
// extras apply; otherwise the file name says how it is wrapped.
func fromFile(a *app.App, src *config.Source, path, identityFile string) (*candidate, error) {
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
	b := &source.Backup{Label: "local file " + path, Manifest: m}
	if m != nil {
		b.Label = fmt.Sprintf("local file %s (backup %s)", path, m.ID)
		b.ID = m.ID
	}
	b.Open = func(context.Context) (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		return pipeline.UnwrapReader(f, u, ids)
	}
	b.OpenExtra = func(_ context.Context, base string) (io.ReadCloser, error) {
		x, ok := m.Extra(base)
		if !ok {
			return nil, nil
		}
		// A copied backup directory: the extra sits next to the data file.
		f, err := os.Open(filepath.Join(filepath.Dir(path), x.Name))
		if err != nil {
			return nil, fmt.Errorf("%s of backup %s: %w (copy it from the backup's directory next to the data file)", x.Name, m.ID, err)
		}
		xu := pipeline.UnwrapFor(m)
		xu.SHA256, xu.Size = x.SHA256, x.Size
		rc, err := pipeline.UnwrapReader(f, xu, ids)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s of backup %s: %w", x.Name, m.ID, err)
		}
		return rc, nil
	}
	c := &candidate{backup: b}
	c.verify = func(ctx context.Context) error {
		if err := verifyLocal(ctx, src, b); err != nil {
			return fmt.Errorf("%s: %w", b.Label, err)
		}
		return nil
	}
	return c, nil
}

// verifyLocal reads a local file and its extras in full, as verify reads a copy.
func verifyLocal(ctx context.Context, src *config.Source, b *source.Backup) error {
	rc, err := b.Open(ctx)
	if err != nil {
		return err
	}
	_, err = app.CheckStored(ctx, src, rc)
	rc.Close()
	if err != nil || b.Manifest == nil {
		return err
	}
	for _, x := range b.Manifest.Extras {
		rc, err := b.OpenExtra(ctx, x.Name)
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
