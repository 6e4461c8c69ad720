package history

import (
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// FromResult is the finished record of a pipeline run.
func FromResult(res *pipeline.Result, trigger Trigger) Run {
	r := Run{
		ID:       res.ID,
		Source:   res.Source,
		Trigger:  trigger,
		Started:  res.Started.UTC(),
		Finished: res.Finished.UTC(),
		Status:   string(res.Status()),
		Warnings: res.Warnings,
	}
	if res.Manifest != nil {
		r.Size, r.SHA256 = res.Manifest.Size, res.Manifest.SHA256
	}
	if err := res.Error(); err != nil {
		r.Error = err.Error()
	}
	for _, d := range res.Destinations {
		dd := Destination{
			Name: d.Name, Store: d.Store, OK: d.OK, Size: d.Size,
			DurationSeconds: d.Duration.Seconds(), Pruned: d.Pruned,
		}
		if d.Err != nil {
			dd.Error = d.Err.Error()
		}
		if d.PruneErr != nil {
			dd.PruneError = d.PruneErr.Error()
		}
		r.Destinations = append(r.Destinations, dd)
	}
	return r
}
