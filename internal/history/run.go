// Package history keeps the record of `lifeboat serve`'s backup runs: what triggered each
// run, when it ran, and how every destination fared. It is capped per source and lives in
// a local bbolt file (or in memory), so the server needs no database.
package history

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by Get for an id the history does not hold (never recorded, or
// trimmed by the per-source cap).
var ErrNotFound = errors.New("run not found in the history")

// Trigger says what started a run.
type Trigger string

const (
	TriggerSchedule Trigger = "schedule" // the source's cron schedule
	TriggerAPI      Trigger = "api"      // POST /api/v1/sources/{name}/backup or the web page
	TriggerBaseline Trigger = "baseline" // at start, because the newest backup was too old
	TriggerCLI      Trigger = "cli"      // a one-shot `lifeboat backup` (metrics push only)
)

// StatusRunning is the status of a run that has not finished; the others are
// pipeline.Status values ("ok", "partial", "failed").
const StatusRunning = "running"

// Run is one backup attempt of one source. Its id is the backup id the run writes, so a
// run and its backup are found by the same name.
type Run struct {
	ID           string        `json:"id"`
	Source       string        `json:"source"`
	Trigger      Trigger       `json:"trigger"`
	Started      time.Time     `json:"started"`
	Finished     time.Time     `json:"finished,omitzero"`
	Status       string        `json:"status"`
	Destinations []Destination `json:"destinations,omitempty"`
	// Size and SHA256 are of the stored artifact, when it was committed anywhere.
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Error is every failure of the run, joined, for operators.
	Error string `json:"error,omitempty"`
	// Warnings say the committed backup starts a new lineage (a re-initialised cluster)
	// or looks suspicious (drastically smaller): the status stays ok, but an operator
	// must look at the source.
	Warnings []string `json:"warnings,omitempty"`
}

// Destination is how one destination fared in a run.
type Destination struct {
	Name            string   `json:"name"`
	Store           string   `json:"store,omitempty"` // "s3://bucket/prefix (endpoint)"
	OK              bool     `json:"ok"`              // committed there
	Error           string   `json:"error,omitempty"`
	Size            int64    `json:"size,omitempty"`
	DurationSeconds float64  `json:"durationSeconds"`
	Pruned          []string `json:"pruned,omitempty"`
	PruneError      string   `json:"pruneError,omitempty"`
}

// Running reports whether the run has not finished yet.
func (r Run) Running() bool { return r.Status == StatusRunning }

// Duration is how long the run took, or zero while it runs.
func (r Run) Duration() time.Duration {
	if r.Finished.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

// Store holds runs, newest first per source, and forgets the oldest beyond its cap.
// Implementations are safe for concurrent use.
type Store interface {
	// Put records r, replacing an earlier record with the same id (a run is put when it
	// starts and again when it finishes).
	Put(ctx context.Context, r Run) error
	// Get returns the run with this id, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (Run, error)
	// List returns up to limit runs of source (every source when empty), newest first.
	// limit <= 0 means all.
	List(ctx context.Context, source string, limit int) ([]Run, error)
	Close() error
}
