package app

import (
	"context"
	"fmt"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// ErrUsage is wrapped by errors caused by what the caller asked for (an unknown source, a
// malformed id), as opposed to failures while doing it.
var ErrUsage = source.ErrUsage

// Located is one copy of a backup in one destination.
type Located = inventory.Copy

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
	inv, err := a.Inventory(ctx, source, only)
	if err != nil {
		return nil, nil, err
	}
	found, err = inv.Copies(ref)
	return found, inv.Unlisted(), err
}

// Candidates returns every copy a restore of ref may use, in the order to try them (see
// inventory.Inventory.Candidates). The error is set only when nothing was found;
// unlisted says which destinations could not be searched.
func (a *App) Candidates(ctx context.Context, source, ref, only string) ([]Located, []error, error) {
	inv, err := a.Inventory(ctx, source, only)
	if err != nil {
		return nil, nil, err
	}
	found, err := inv.Candidates(ref)
	return found, inv.Unlisted(), err
}

// Inventory lists source in its destinations (or only in destination only) now.
func (a *App) Inventory(ctx context.Context, source, only string) (*inventory.Inventory, error) {
	return inventory.Take(ctx, a, source, only, time.Now().UTC())
}

func (a *App) warnUnlisted(source string, unlisted []error) {
	if a.Logger == nil {
		return
	}
	for _, err := range unlisted {
		a.Logger.Warn("a destination could not be searched; a newer backup may be there", "source", source, "err", err)
	}
}

// SourceNames are the configured sources' names, in config order.
func (a *App) SourceNames() []string {
	names := make([]string, 0, len(a.Config.Sources))
	for _, s := range a.Config.Sources {
		names = append(names, s.Name)
	}
	return names
}
