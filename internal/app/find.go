package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// ErrUsage is wrapped by errors caused by what the caller asked for (an unknown source, a
// malformed id), as opposed to failures while doing it.
var ErrUsage = source.ErrUsage

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
// found in any searched destination. A destination that could not be searched while
// others answered is only logged; callers that must report it use Search.
func (a *App) FindBackups(ctx context.Context, source, ref, only string) ([]Located, error) {
	found, unlisted, err := a.Search(ctx, source, ref, only)
	a.warnUnlisted(source, unlisted)
	return found, err
}

// Search is FindBackups that also returns why destinations could not be searched (not
// opened, not listed): found can be non-empty while unlisted is not, and then the answer
// is partial — a newer backup may be in a destination that did not answer.
func (a *App) Search(ctx context.Context, source, ref, only string) (found []Located, unlisted []error, err error) {
	all, unlisted, err := a.Candidates(ctx, source, ref, only)
	if err != nil || ref != "latest" {
		return all, unlisted, err
	}
	for _, c := range all {
		if c.Manifest.ID == all[0].Manifest.ID {
			found = append(found, c)
		}
	}
	return found, unlisted, nil
}

// Candidates returns every copy a restore of ref may use, in the order to try them: for
// an id, its copies in each destination; for "latest", every backup of source, newest
// first, each with its copies in destination order. The error is set only when nothing
// was found; unlisted says which destinations could not be searched.
func (a *App) Candidates(ctx context.Context, source, ref, only string) ([]Located, []error, error) {
	names, err := a.DestinationNames(source, only)
	if err != nil {
		return nil, nil, err
	}
	var found []Located
	var unlisted []error
	for _, name := range names {
		d, err := a.Destination(name, false)
		if err != nil {
			unlisted = append(unlisted, fmt.Errorf("could not search %w", err))
			continue
		}
		backups, _, err := catalog.List(ctx, d.Store, source)
		if err != nil {
			unlisted = append(unlisted, fmt.Errorf("could not list destination %s (%s): %w", name, d.Store, err))
			continue
		}
		for _, b := range backups {
			if ref == "latest" || b.ID == ref {
				found = append(found, Located{Dest: d, Manifest: b.Manifest})
			}
		}
	}
	// Newest first the way catalog.List orders (ids only have whole seconds); the stable
	// sort keeps destination order among the copies of one backup.
	slices.SortStableFunc(found, func(x, y Located) int {
		if c := y.Manifest.Created.Compare(x.Manifest.Created); c != 0 {
			return c
		}
		return strings.Compare(y.Manifest.ID, x.Manifest.ID)
	})
	if len(found) == 0 {
		where := "any destination of " + source
		if only != "" {
			where = "destination " + only
		}
		errs := append([]error{fmt.Errorf("backup %q not found in %s: %w (see `lifeboat list %s`)", ref, where, store.ErrNotFound, source)}, unlisted...)
		return nil, unlisted, errors.Join(errs...)
	}
	return found, unlisted, nil
}

func (a *App) warnUnlisted(source string, unlisted []error) {
	if a.Logger == nil {
		return
	}
	for _, err := range unlisted {
		a.Logger.Warn("a destination could not be searched; a newer backup may be there", "source", source, "err", err)
	}
}
