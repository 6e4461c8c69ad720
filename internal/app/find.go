package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// ErrUsage is wrapped by errors caused by what the caller asked for (an unknown source, a
// malformed id), as opposed to failures while doing it.
var ErrUsage = errors.New("invalid request")

// Located is one copy of a backup in one destination.
type Located struct {
	Dest     pipeline.Destination
	Manifest *catalog.Manifest
}

// ResolveSource picks the source a backup reference belongs to: the id's own prefix, the
// explicit source, or the only configured source.
func (a *App) ResolveSource(ref, explicit string) (string, error) {
	if ref != "latest" {
		src, _, err := catalog.ParseBackupID(ref)
		if err != nil {
			return "", fmt.Errorf("%w: %q is not a backup id (like vault-20261123T101500Z-1a2b) or \"latest\"", ErrUsage, ref)
		}
		if explicit != "" && explicit != src {
			return "", fmt.Errorf("%w: backup %s belongs to source %s, not %s", ErrUsage, ref, src, explicit)
		}
		return src, nil
	}
	if explicit != "" {
		return explicit, nil
	}
	if len(a.Config.Sources) == 1 {
		return a.Config.Sources[0].Name, nil
	}
	return "", fmt.Errorf("%w: \"latest\" needs a source when several sources are configured", ErrUsage)
}

// DestinationNames returns the named destination, or every one the source uses.
func (a *App) DestinationNames(source, only string) ([]string, error) {
	if only != "" {
		if _, err := a.Config.Destination(only); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
		return []string{only}, nil
	}
	dests, err := a.Config.DestinationsFor(source)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	names := make([]string, 0, len(dests))
	for _, d := range dests {
		names = append(names, d.Name)
	}
	return names, nil
}

// FindBackups returns every copy of ref ("latest" or an id) of source, searching only
// destination `only` when set. For "latest" it returns the copies of the newest backup
// found in any searched destination.
func (a *App) FindBackups(ctx context.Context, source, ref, only string) ([]Located, error) {
	names, err := a.DestinationNames(source, only)
	if err != nil {
		return nil, err
	}
	var found []Located
	var errs []error
	for _, name := range names {
		d, err := a.Destination(name, false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		backups, _, err := catalog.List(ctx, d.Store, source)
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s: %w", name, err))
			continue
		}
		for _, b := range backups {
			if ref == "latest" || b.ID == ref {
				found = append(found, Located{Dest: d, Manifest: b.Manifest})
				break
			}
		}
	}
	if ref == "latest" && len(found) > 0 {
		newest := found[0].Manifest.ID
		for _, f := range found {
			if f.Manifest.ID > newest {
				newest = f.Manifest.ID
			}
		}
		var copies []Located
		for _, f := range found {
			if f.Manifest.ID == newest {
				copies = append(copies, f)
			}
		}
		found = copies
	}
	if len(found) == 0 {
		where := "any destination of " + source
		if only != "" {
			where = "destination " + only
		}
		errs = append([]error{fmt.Errorf("backup %q not found in %s: %w (see `lifeboat list %s`)", ref, where, store.ErrNotFound, source)}, errs...)
		return nil, errors.Join(errs...)
	}
	return found, nil
}
