package main

import (
	"context"
	"filippo.io/age"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// chosenBackup is the backup a restore or drill works from.
type chosenBackup struct {
	label    string
	open     func(ctx context.Context) (io.ReadCloser, error) // the artifact's bytes, fresh each call
	manifest *catalog.Manifest                                // nil for a loose local file
	loc      *app.Located                                     // nil for a local file
	ids      []age.Identity
}

// chooseBackup resolves a backup reference (id, "latest" or a local path).
func chooseBackup(ctx context.Context, a *app.App, source, ref, from, identityFile string) (*chosenBackup, error) {
	if fi, err := os.Stat(ref); err == nil && !fi.IsDir() {
		return chooseLocalFile(a, ref, identityFile)
	} else if strings.ContainsRune(ref, os.PathSeparator) {
		return nil, usageError("%s: %v", ref, err)
	}
	if _, err := a.ResolveSource(ref, source); err != nil {
		return nil, classify(err)
	}
	copies, err := a.FindBackups(ctx, source, ref, from)
	if err != nil {
		return nil, classify(err)
	}
	c := copies[0]
	ids, err := a.IdentitiesFor(c.Manifest.Encryption != nil, identityFile)
	if err != nil {
		return nil, err
	}
	return &chosenBackup{
		label:    fmt.Sprintf("backup %s from %s", c.Manifest.ID, c.Dest.Name),
		manifest: c.Manifest,
		loc:      &c,
		ids:      ids,
		open: func(ctx context.Context) (io.ReadCloser, error) {
			return pipeline.OpenBackup(ctx, c.Dest.Store, c.Manifest, ids)
		},
	}, nil
}

// chooseLocalFile uses the manifest.json next to the file when there is one (a copy of a
// backup directory), so its checksum and metadata apply; otherwise the file name says
// how it is wrapped.
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
	b := &chosenBackup{label: "local file " + path, manifest: m, ids: ids}
	if m != nil {
		b.label = fmt.Sprintf("local file %s (backup %s)", path, m.ID)
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
		u := pipeline.Unwrap{Encrypted: b.manifest.Encryption != nil, Compressed: b.manifest.Compression == catalog.CompressionZstd, SHA256: x.SHA256, Size: x.Size}
		var rc io.ReadCloser
		var err error
		if b.loc != nil {
			rc, err = b.loc.Dest.Store.Get(ctx, b.manifest.ExtraKey(x.Name))
		} else {
			err = fmt.Errorf("%s is only available from a destination, not from a loose file", x.Name)
		}
		if err != nil {
			return nil, err
		}
		return pipeline.UnwrapReader(rc, u, b.ids)
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
