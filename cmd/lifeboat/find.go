package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// located is one copy of a backup in one destination.
type located struct {
	dest     pipeline.Destination
	manifest *catalog.Manifest
}

// resolveSource picks the source a backup reference belongs to: the id's own prefix, the
// --source flag, or the only configured source.
func resolveSource(a *app.App, ref, flag string) (string, error) {
	if ref != "latest" {
		if src, _, err := catalog.ParseBackupID(ref); err == nil {
			if flag != "" && flag != src {
				return "", usageError("backup %s belongs to source %s, not %s", ref, src, flag)
			}
			return src, nil
		}
		return "", usageError("%q is not a backup id (like vault-20261123T101500Z-1a2b) or \"latest\"", ref)
	}
	if flag != "" {
		return flag, nil
	}
	if len(a.Config.Sources) == 1 {
		return a.Config.Sources[0].Name, nil
	}
	return "", usageError("\"latest\" needs --source when several sources are configured")
}

// findBackups returns every copy of ref ("latest" or an id) of source, searching only
// destination `only` when set. For "latest" it returns the copies of the newest backup
// found in any searched destination.
func findBackups(ctx context.Context, a *app.App, source, ref, only string) ([]located, error) {
	names, err := destinationNames(a, source, only)
	if err != nil {
		return nil, err
	}
	var found []located
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
				found = append(found, located{dest: d, manifest: b.Manifest})
				break
			}
		}
	}
	if ref == "latest" && len(found) > 0 {
		newest := found[0].manifest.ID
		for _, f := range found {
			if f.manifest.ID > newest {
				newest = f.manifest.ID
			}
		}
		var copies []located
		for _, f := range found {
			if f.manifest.ID == newest {
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
