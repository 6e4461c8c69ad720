package server

import (
	"context"
	"sync"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// DestinationListing is what one listing of a destination found for one source.
type DestinationListing struct {
	Name     string          `json:"name"`
	Backups  int             `json:"backups"`
	Newest   *catalog.Backup `json:"-"`
	Problems int             `json:"problems,omitempty"` // backups with an unusable manifest
	Error    string          `json:"error,omitempty"`    // the destination could not be listed
	ListedAt time.Time       `json:"listedAt"`
	// DrillSuccess is when the newest passing drill recorded in the listed manifests
	// finished (zero when none passed).
	DrillSuccess time.Time `json:"-"`
}

// inventory caches the latest listing of every destination per source, so status, the
// page and metrics do not list S3 on every request. It is refreshed after each run and
// every Options.RefreshEvery.
type inventory struct {
	mu       sync.Mutex
	bySource map[string][]DestinationListing
}

func newInventory() *inventory { return &inventory{bySource: map[string][]DestinationListing{}} }

func (inv *inventory) set(source string, ls []DestinationListing) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.bySource[source] = ls
}

func (inv *inventory) get(source string) []DestinationListing {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return append([]DestinationListing(nil), inv.bySource[source]...)
}

// newest is the creation time of the newest backup of source in any destination, and
// whether every destination could be listed.
func (inv *inventory) newest(source string) (time.Time, bool) {
	var t time.Time
	complete := true
	for _, l := range inv.get(source) {
		if l.Error != "" {
			complete = false
		}
		if l.Newest != nil && l.Newest.Created.After(t) {
			t = l.Newest.Created
		}
	}
	return t, complete
}

// ListDestinations lists every destination of source. A destination that cannot be
// listed has Error set; the others are still listed.
func ListDestinations(ctx context.Context, a Lister, source string, now time.Time) []DestinationListing {
	names, err := a.DestinationNames(source, "")
	if err != nil {
		return []DestinationListing{{Name: "?", Error: err.Error(), ListedAt: now}}
	}
	out := make([]DestinationListing, 0, len(names))
	for _, name := range names {
		l := DestinationListing{Name: name, ListedAt: now}
		backups, problems, err := a.ListBackups(ctx, source, name)
		if err != nil {
			l.Error = err.Error()
		} else {
			l.Backups, l.Problems = len(backups), len(problems)
			if len(backups) > 0 {
				l.Newest = &backups[0]
			}
			l.DrillSuccess = newestPassingDrill(backups)
		}
		out = append(out, l)
	}
	return out
}

// refresh re-lists source's destinations and updates the metrics that come from them.
func (s *Server) refresh(ctx context.Context, source string) {
	ls := ListDestinations(ctx, appLister{s.app}, source, s.clock.Now())
	if ctx.Err() != nil {
		return // cancelled half-way: keep the previous, complete listing
	}
	s.inv.set(source, ls)
	if t, ok := committedEverywhere(ls); ok {
		s.met.SetLastSuccess(source, t)
	}
	for _, l := range ls {
		s.met.SetDrillLastSuccess(source, l.DrillSuccess)
	}
	for _, l := range ls {
		if l.Error != "" {
			s.log.Warn("destination could not be listed", "source", source, "destination", l.Name, "err", l.Error)
			continue
		}
		var newest time.Time
		if l.Newest != nil {
			newest = l.Newest.Manifest.Finished
		}
		s.met.SetStored(source, l.Name, l.Backups, newest)
	}
}

func (s *Server) refreshLoop(ctx context.Context) {
	for {
		c, stop := s.clock.Timer(s.opts.RefreshEvery)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-c:
		}
		for _, src := range s.app.Config.Sources {
			if _, busy := s.Running(src.Name); !busy {
				s.refresh(ctx, src.Name) // a running source is re-listed when its run ends
			}
		}
	}
}

// committedEverywhere returns when the newest backup finished if every destination holds
// it as its newest: the catalog's own evidence of a fully successful run.
func committedEverywhere(ls []DestinationListing) (time.Time, bool) {
	if len(ls) == 0 {
		return time.Time{}, false
	}
	for _, l := range ls {
		if l.Newest == nil || l.Newest.ID != ls[0].Newest.ID {
			return time.Time{}, false
		}
	}
	return ls[0].Newest.Manifest.Finished, true
}

// newestPassingDrill is when the newest passing drill of any of the backups finished: the
// drill records in the manifests outlive the server, so lifeboat_drill_last_success_*
// survives a restart (and covers drills run by a `lifeboat drill` CronJob).
func newestPassingDrill(backups []catalog.Backup) time.Time {
	var t time.Time
	for _, b := range backups {
		for _, d := range b.Manifest.Drills {
			if d.OK && d.At.After(t) {
				t = d.At
			}
		}
	}
	return t
}
