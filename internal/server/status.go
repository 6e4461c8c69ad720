package server

import (
	"context"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/robfig/cron/v3"
)

// Status is the status of every configured source, from the cached inventories, the
// history and the schedules.
func (s *Server) Status(ctx context.Context) ([]api.SourceStatus, error) {
	now := s.clock.Now()
	out := make([]api.SourceStatus, 0, len(s.app.Config.Sources))
	for _, src := range s.app.Config.Sources {
		runs, err := s.hist.List(ctx, src.Name, 0)
		if err != nil {
			return nil, err
		}
		var next time.Time
		if sc := s.sched[src.Name]; sc != nil {
			next = sc.Next()
		}
		s.inv.awaitFirst(ctx, src.Name, firstListingWait)
		st := buildStatus(src, s.inv.get(src.Name), runs, next, now)
		st.Running, _ = s.Running(src.Name)
		out = append(out, st)
	}
	return out, nil
}

// LocalStatus is the status `lifeboat status` shows without a server: live inventories
// and the schedules, but no history (so no failing runs, next run times or last
// attempts).
func LocalStatus(ctx context.Context, o inventory.Opener, sources []config.Source, now time.Time) ([]api.SourceStatus, error) {
	out := make([]api.SourceStatus, 0, len(sources))
	for _, src := range sources {
		inv, err := inventory.Take(ctx, o, src.Name, "", now)
		if err != nil {
			return nil, err
		}
		out = append(out, buildStatus(src, inv, nil, time.Time{}, now))
	}
	return out, nil
}

// buildStatus judges one source; inv is nil before its first listing.
func buildStatus(src config.Source, inv *inventory.Inventory, runs []history.Run, next, now time.Time) api.SourceStatus {
	st := api.SourceStatus{Name: src.Name, Kind: src.Kind, Schedule: src.Schedule, Destinations: []api.DestinationStatus{}}
	in := HealthInput{Now: now, Jitter: src.Jitter.Duration}
	var listedAt time.Time
	if inv != nil {
		in.Destinations, listedAt = inv.Listings, inv.Now
	}
	if spec, err := cron.ParseStandard(src.Schedule); src.Schedule != "" && err == nil {
		in.Interval = Interval(spec, now)
		st.IntervalSeconds = in.Interval.Seconds()
		st.StaleAfterSeconds = StaleAfter(in.Interval, in.Jitter).Seconds()
	}
	if !next.IsZero() {
		st.NextScheduled = &next
	}
	for i := range runs {
		r := &runs[i]
		if r.Running() {
			continue
		}
		if st.LastAttempt == nil {
			st.LastAttempt = r
			in.LastStatus, in.LastRunID = r.Status, r.ID
		}
		if st.LastSuccess == nil && r.Status == string(pipeline.StatusOK) {
			st.LastSuccess = r
		}
	}
	st.Health, st.HealthReason = Health(in)
	for _, l := range in.Destinations {
		d := api.Destination(l, listedAt)
		if d.Latest != nil && (st.LatestBackup == nil || d.Latest.Created.After(st.LatestBackup.Created)) {
			st.LatestBackup = d.Latest
		}
		st.Destinations = append(st.Destinations, d)
	}
	if st.LatestBackup != nil {
		age := now.Sub(st.LatestBackup.Created).Seconds()
		st.RPOAgeSeconds = &age
	}
	return st
}

// seedLastSuccess restores lifeboat_backup_last_success_timestamp_seconds from the
// history after a restart.
func (s *Server) seedLastSuccess(ctx context.Context) {
	for _, src := range s.app.Config.Sources {
		runs, err := s.hist.List(ctx, src.Name, 0)
		if err != nil {
			s.log.Warn("could not read the history", "source", src.Name, "err", err)
			continue
		}
		for _, r := range runs {
			if r.Status == string(pipeline.StatusOK) {
				s.met.SetLastSuccess(src.Name, r.Finished)
				break
			}
		}
	}
}
