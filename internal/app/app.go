// Package app turns a validated config into the running parts — stores, sources, the
// pipeline and encryption — so the CLI and the server wire things up the same way.
package app

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// App is a loaded configuration plus the process-wide settings.
type App struct {
	Config  *config.Config
	Version string
	Logger  *slog.Logger
}

// Pipeline builds the backup pipeline for one source kind.
func (a *App) Pipeline(src *config.Source) (*pipeline.Pipeline, error) {
	enc, err := a.Encryption()
	if err != nil {
		return nil, err
	}
	level := zstd.SpeedDefault
	if src.Postgres != nil && src.Postgres.CompressionLevel > 0 {
		level = zstd.EncoderLevel(src.Postgres.CompressionLevel)
	}
	return &pipeline.Pipeline{
		Encryption:       enc,
		CompressionLevel: level,
		Version:          a.Version,
		Logger:           a.Logger,
		Now:              func() time.Time { return time.Now().UTC() },
	}, nil
}

// Destinations opens the stores a source's backups go to. create makes a missing file
// destination directory (only a backup may do that; see file.Options).
func (a *App) Destinations(source string, create bool) ([]pipeline.Destination, error) {
	dests, err := a.Config.DestinationsFor(source)
	if err != nil {
		return nil, err
	}
	out := make([]pipeline.Destination, 0, len(dests))
	for _, d := range dests {
		st, err := OpenStore(d, create)
		if err != nil {
			return nil, fmt.Errorf("destination %s: %w", d.Name, err)
		}
		out = append(out, pipeline.Destination{Name: d.Name, Store: st, Retention: d.Retention})
	}
	return out, nil
}

// Destination opens one named destination.
func (a *App) Destination(name string, create bool) (pipeline.Destination, error) {
	d, err := a.Config.Destination(name)
	if err != nil {
		return pipeline.Destination{}, err
	}
	st, err := OpenStore(d, create)
	if err != nil {
		return pipeline.Destination{}, fmt.Errorf("destination %s: %w", d.Name, err)
	}
	return pipeline.Destination{Name: d.Name, Store: st, Retention: d.Retention}, nil
}
