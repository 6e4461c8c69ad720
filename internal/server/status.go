package server

import (
	"context"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/robfig/cron/v3"
)

// SourceStatus is GET /api/v1/status's view of one source.
type SourceStatus struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Schedule string `json:"schedule,omitempty"`
	// IntervalSeconds is the time between the next two scheduled runs.
	IntervalSeconds   float64    `json:"intervalSeconds,omitempty"`
	StaleAfterSeconds float64    `json:"staleAfterSeconds,omitempty"`
	NextScheduled     *time.Time `json:"nextScheduled,omitempty"`
	Health            string     `json:"health"` // ok, stale, failing, never
	HealthReason      string     `json:"healthReason"`
	// RPOAgeSeconds is the age of the newest backup in any destination: the data an
	// operator would lose restoring now. Absent when there is no backup.
	RPOAgeSeconds *float64        `json:"rpoAgeSeconds,omitempty"`
	LatestBackup  *BackupSummary  `json:"latestBackup,omitempty"`
	LastSuccess   *history.Run    `json:"lastSuccess,omitempty"`
	LastAttempt   *history.Run    `json:"lastAttempt,omitempty"`
	Running       string          `json:"running,omitempty"` // id of the running run
	Destinations  []DestinationSt `json:"destinations"`
}

// BackupSummary names one committed backup.
type BackupSummary struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	Finished  time.Time `json:"finished"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Encrypted bool      `json:"encrypted"`
}

// DestinationSt is one destination of a source in the status.
type DestinationSt struct {
	DestinationListing
	Latest *BackupSummary `json:"latest,omitempty"`
}

// Status is the status of every configured source, from the cached listings, the history
// and the schedules.
func (s *Server) Status(ctx context.Context) ([]SourceStatus, error) {
	now := s.clock.Now()
	out := make([]SourceStatus, 0, len(s.app.Config.Sources))
	for _, src := range s.app.Config.Sources {
		runs, err := s.hist.List(ctx, src.Name, 0)
		if err != nil {
			return nil, err
		}
		var next time.Time
		if sc := s.sched[src.Name]; sc != nil {
			next = sc.Next()
		}
		st := buildStatus(src, s.inv.get(src.Name), runs, next, now)
		st.Running, _ = s.Running(src.Name)
		out = append(out, st)
	}
	return out, nil
}

// LocalStatus is the status `lifeboat status` shows without a server: live listings and
// the schedules, but no history (so no failing runs, next run times or last attempts).
func LocalStatus(ctx context.Context, l Lister, sources []config.Source, now time.Time) []SourceStatus {
	out := make([]SourceStatus, 0, len(sources))
	for _, src := range sources {
		out = append(out, buildStatus(src, ListDestinations(ctx, l, src.Name, now), nil, time.Time{}, now))
	}
	return out
}

func buildStatus(src config.Source, listings []DestinationListing, runs []history.Run, next, now time.Time) SourceStatus {
	st := SourceStatus{Name: src.Name, Kind: src.Kind, Schedule: src.Schedule, Destinations: []DestinationSt{}}
	in := HealthInput{Destinations: listings, Now: now, Jitter: src.Jitter.Duration}
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
	for _, l := range listings {
		d := DestinationSt{DestinationListing: l, Latest: summarize(l)}
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

func summarize(l DestinationListing) *BackupSummary {
	if l.Newest == nil {
		return nil
	}
	return summary(l.Newest.Manifest)
}

func summary(m *catalog.Manifest) *BackupSummary {
	return &BackupSummary{ID: m.ID, Created: m.Created, Finished: m.Finished, Size: m.Size, SHA256: m.SHA256, Encrypted: m.Encryption != nil}
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
