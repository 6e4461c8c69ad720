package server

import (
	"context"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// Lister is what listing needs from the app; `lifeboat status` uses it without a server.
type Lister interface {
	DestinationNames(source, only string) ([]string, error)
	ListBackups(ctx context.Context, source, destination string) ([]catalog.Backup, []catalog.Problem, error)
}

// NewLister lists through a's configured destinations.
func NewLister(a *app.App) Lister { return appLister{a} }

type appLister struct{ a *app.App }

func (l appLister) DestinationNames(source, only string) ([]string, error) {
	return l.a.DestinationNames(source, only)
}

// ListBackups opens the destination without creating it: listing must not make a
// missing (unmounted) directory look like an empty destination.
func (l appLister) ListBackups(ctx context.Context, source, destination string) ([]catalog.Backup, []catalog.Problem, error) {
	d, err := l.a.Destination(destination, false)
	if err != nil {
		return nil, nil, err
	}
	return catalog.List(ctx, d.Store, source)
}
