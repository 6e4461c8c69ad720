// Package app turns a validated config into the running parts — stores, sources, the
// pipeline and encryption — so the CLI and the server wire things up the same way.
package app

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// App is a loaded configuration plus the process-wide settings.
type App struct {
	Config  *config.Config
	Version string
	Logger  *slog.Logger
	// Clock is the time of backups (ids, manifests, stall timeouts, retention) and of a
	// server built on this App. Nil means clock.Real.
	Clock clock.Clock
	// AllowUnsigned makes readers accept unsigned backups and backups signed by a key
	// not configured (--allow-unsigned); a bad signature is refused still. See Trust.
	AllowUnsigned bool

	warnUnsigned sync.Once
}

func (a *App) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

// Pipeline builds the backup pipeline for one source kind.
func (a *App) Pipeline(src *config.Source) (*pipeline.Pipeline, error) {
	enc, err := a.Encryption()
	if err != nil {
		return nil, err
	}
	signer, err := a.Signer()
	if err != nil {
		return nil, err
	}
	trust, err := a.Trust()
	if err != nil {
		return nil, err
	}
	level, threads := zstd.SpeedDefault, 0
	switch {
	case src.Postgres != nil:
		level, threads = zstd.EncoderLevel(src.Postgres.CompressionLevel), src.Postgres.CompressionThreads
	case src.Vault != nil:
		level, threads = zstd.EncoderLevel(src.Vault.CompressionLevel), src.Vault.CompressionThreads
	case src.Kubernetes != nil:
		threads = 1 // kilobytes to a few MiB of YAML: a second thread would only add memory
	}
	if level <= 0 {
		level = zstd.SpeedDefault
	}
	return &pipeline.Pipeline{
		Encryption:         enc,
		Signer:             signer,
		Trust:              trust,
		CompressionLevel:   level,
		CompressionThreads: threads,
		StallTimeout:       src.StallTimeout.Duration,
		Shrink:             src.Shrink(),
		Version:            a.Version,
		Logger:             a.Logger,
		Clock:              clock.Or(a.Clock),
	}, nil
}

// Destinations opens the stores a source's backups go to (only those named in `only`,
// when set). create makes a missing file destination directory (only a backup may do
// that; see file.Options). A destination that cannot be opened is returned with OpenErr
// set, so a run reports it as that destination's failure and still backs up to the
// others; the error is for config problems (an unknown source or destination name).
func (a *App) Destinations(source string, only []string, create bool) ([]pipeline.Destination, error) {
	dests, err := a.Config.DestinationsFor(source)
	if err != nil {
		return nil, err
	}
	if len(only) > 0 {
		var picked []*config.Destination
		for _, d := range dests {
			if slices.Contains(only, d.Name) {
				picked = append(picked, d)
			}
		}
		if len(picked) != len(only) {
			return nil, fmt.Errorf("%w: destinations %v: source %s only goes to the destinations its config lists", ErrUsage, only, source)
		}
		dests = picked
	}
	out := make([]pipeline.Destination, 0, len(dests))
	for _, d := range dests {
		st, err := OpenStore(d, create, a.Clock)
		if err != nil {
			out = append(out, pipeline.Destination{Name: d.Name, Retention: d.Retention, Where: Describe(d),
				OpenErr: fmt.Errorf("could not open the destination: %w", err)})
			continue
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
	st, err := OpenStore(d, create, a.Clock)
	if err != nil {
		return pipeline.Destination{}, fmt.Errorf("destination %s: %w", d.Name, err)
	}
	return pipeline.Destination{Name: d.Name, Store: st, Retention: d.Retention}, nil
}
