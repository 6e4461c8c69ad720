package history

import (
	"context"
	"fmt"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// Interrupted finishes the records of runs that were still running when the previous
// server stopped without finishing them (kill -9, OOM, node loss), so they do not show as
// running forever. It returns the closed records, for the caller to count as failed runs.
func Interrupted(ctx context.Context, s Store, now time.Time) ([]Run, error) {
	runs, err := s.List(ctx, "", 0)
	if err != nil {
		return nil, err
	}
	var closed []Run
	for _, r := range runs {
		if !r.Running() {
			continue
		}
		r.Status = string(pipeline.StatusFailed)
		r.Finished = now.UTC()
		r.Error = "lifeboat stopped during this run (killed or crashed); a backup is committed only " +
			"where its manifest was written: `lifeboat list " + r.Source + "` shows where " + r.ID + " exists"
		for i := range r.Destinations {
			if !r.Destinations[i].OK && r.Destinations[i].Error == "" {
				r.Destinations[i].Error = "interrupted"
			}
		}
		if err := s.Put(ctx, r); err != nil {
			return closed, fmt.Errorf("close interrupted run %s: %w", r.ID, err)
		}
		closed = append(closed, r)
	}
	return closed, nil
}
