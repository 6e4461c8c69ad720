package app

import (
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kinds"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Source builds the backup source for a configured source, through its kind.
func (a *App) Source(name string) (*config.Source, source.Source, error) {
	src, err := a.Config.Source(name)
	if err != nil {
		return nil, nil, err
	}
	k, err := kinds.Of(src)
	if err != nil {
		return src, nil, err
	}
	s, err := k.NewSource(src)
	return src, s, err
}
