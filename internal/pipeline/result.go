package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// DestinationResult is the outcome of one run on one destination.
type DestinationResult struct {
	Name     string
	Store    string // where, for operators: "s3://bucket/prefix (endpoint)"
	OK       bool   // the backup is committed (manifest written) in this destination
	Err      error  // why not, when !OK
	Size     int64
	Duration time.Duration
	Pruned   []string // backup ids removed by retention after this run
	PruneErr error    // retention failed; the new backup itself is fine
}

// Result is the outcome of one run.
type Result struct {
	Source       string
	ID           string
	Started      time.Time
	Finished     time.Time
	Manifest     *catalog.Manifest // nil when nothing was committed
	Err          error             // source-side failure: nothing was committed anywhere
	Destinations []DestinationResult
	// Warnings say the backup, although committed, marks a new lineage or looks
	// suspicious (catalog.Assess). They do not change the Status: the backup is good to
	// have, but an operator must look at the source.
	Warnings []string
}

// Suspicious reports whether the run's backup was marked new lineage or suspicious.
func (r *Result) Suspicious() bool { return len(r.Warnings) > 0 }

// Status summarises a result the way exit codes, metrics and the API report it.
type Status string

const (
	StatusOK      Status = "ok"      // committed in every destination, retention fine
	StatusPartial Status = "partial" // committed in some destinations, or retention failed
	StatusFailed  Status = "failed"  // committed nowhere
)

// Status is ok only when every destination committed and pruned cleanly: a failure in one
// destination never hides behind another's success.
func (r *Result) Status() Status {
	ok, bad := 0, 0
	for _, d := range r.Destinations {
		if d.OK {
			ok++
		}
		if !d.OK || d.PruneErr != nil {
			bad++
		}
	}
	switch {
	case r.Err != nil || ok == 0:
		return StatusFailed
	case bad > 0:
		return StatusPartial
	default:
		return StatusOK
	}
}

// Error joins every failure of the run into one operator-facing error, nil when ok.
func (r *Result) Error() error {
	var errs []error
	if r.Err != nil {
		errs = append(errs, fmt.Errorf("backup %s of %s failed: %w", r.ID, r.Source, r.Err))
	}
	for _, d := range r.Destinations {
		if !d.OK && d.Err != nil && !errors.Is(d.Err, r.Err) {
			errs = append(errs, fmt.Errorf("destination %s (%s): %w", d.Name, d.Store, d.Err))
		}
		if d.PruneErr != nil {
			errs = append(errs, fmt.Errorf("destination %s (%s): backup committed, but retention failed: %w", d.Name, d.Store, d.PruneErr))
		}
	}
	return errors.Join(errs...)
}

// Summary is a one-line human description.
func (r *Result) Summary() string {
	var ok, failed []string
	for _, d := range r.Destinations {
		if d.OK {
			ok = append(ok, d.Name)
		} else {
			failed = append(failed, d.Name)
		}
	}
	s := fmt.Sprintf("backup %s: %s", r.ID, r.Status())
	if len(ok) > 0 {
		s += "; committed to " + strings.Join(ok, ", ")
	}
	if len(failed) > 0 {
		s += "; FAILED on " + strings.Join(failed, ", ")
	}
	return s
}
