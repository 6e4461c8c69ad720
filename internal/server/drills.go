package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/lifeboat-backup/lifeboat/internal/source"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/drill"
)

// DrillFunc rehearses a restore of source's newest backup.
type DrillFunc func(ctx context.Context, source string) (*drill.Report, error)

// drillSchedules parses each source's drill.schedule.
func drillSchedules(sources []config.Source) (map[string]cron.Schedule, error) {
	out := map[string]cron.Schedule{}
	for _, src := range sources {
		if src.Drill == nil || src.Drill.Schedule == "" {
			continue
		}
		spec, err := cron.ParseStandard(src.Drill.Schedule)
		if err != nil {
			return nil, fmt.Errorf("sources[%s].drill.schedule %q: %w", src.Name, src.Drill.Schedule, err)
		}
		out[src.Name] = spec
	}
	return out, nil
}

// drillLoop runs the source's drill at each scheduled time until ctx ends. Drills only
// read backups, so they may overlap a backup run; two drills of one source never overlap.
func (s *Server) drillLoop(ctx context.Context, source string, spec cron.Schedule) {
	var running sync.Mutex
	for {
		now := s.clock.Now()
		c, stop := s.clock.Timer(spec.Next(now).Sub(now))
		select {
		case <-ctx.Done():
			stop()
			return
		case <-c:
		}
		if !running.TryLock() {
			s.log.Warn("scheduled drill skipped: the previous drill is still running", "source", source)
			continue
		}
		s.runs.Add(1)
		go func() {
			defer s.runs.Done()
			defer running.Unlock()
			s.drill(source)
		}()
	}
}

// drill runs one drill under the server's run context (cancelled at the end of the
// shutdown grace, like backups) and records it in the metrics, the log and for the page.
func (s *Server) drill(source string) {
	started := s.clock.Now()
	report, err := s.opts.Drill(s.runCtx, source)
	if err != nil {
		now := s.clock.Now()
		s.met.ObserveDrill(source, now, now.Sub(started), false)
		s.lastDrills.set(source, drillView{Started: started, At: now, Duration: now.Sub(started),
			Error: "the drill could not start: " + err.Error()})
		s.log.Error("drill not started", "source", source, "err", err)
		s.app.NotifyDrill(s.runCtx, s.notify, source, "latest", "", err)
		return
	}
	s.lastDrills.set(source, drillFromReport(report))
	s.met.ObserveDrill(source, report.Started.Add(report.Duration), report.Duration, report.OK())
	if report.OK() {
		s.log.Info(report.Summary(), "source", source, "backup", report.BackupID)
	} else {
		s.log.Error(report.Summary(), "source", source, "backup", report.BackupID)
		s.app.NotifyDrill(s.runCtx, s.notify, source, report.BackupID, report.Destination, report.Err)
	}
}

// drillView is a drill as the page shows it.
type drillView struct {
	Started, At time.Time // At: when it ended
	Duration    time.Duration
	OK          bool
	BackupID    string
	Destination string // the destination the drilled copy was read from
	Checks      []source.Check
	Error       string // why it failed; empty when it passed
	// Summary is all a manifest's drill record keeps (no checks, no duration): set for a
	// drill this server did not run (a `lifeboat drill` CronJob, or before a restart).
	Summary      string
	FromManifest bool
}

func drillFromReport(r *drill.Report) drillView {
	v := drillView{Started: r.Started, At: r.Started.Add(r.Duration), Duration: r.Duration, OK: r.OK(),
		BackupID: r.BackupID, Destination: r.Destination, Checks: r.Checks, Summary: r.Summary()}
	if r.Err != nil {
		v.Error = r.Err.Error()
	}
	return v
}

// drillLog keeps the last drill this server ran per source, checks and all. It is not
// persisted: after a restart the page falls back to the manifests' drill records.
type drillLog struct {
	mu       sync.Mutex
	bySource map[string]drillView
}

func (l *drillLog) set(source string, v drillView) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bySource == nil {
		l.bySource = map[string]drillView{}
	}
	l.bySource[source] = v
}

func (l *drillLog) get(source string) (drillView, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.bySource[source]
	return v, ok
}

// latestDrill is the newest drill of source that the page can show: the last one this
// server ran (with its checks), or a newer drill record in the manifests of the last
// listing. nil when neither has one. The page reads drills only through here, so that
// where drill results are kept can change in one place.
func (s *Server) latestDrill(ctx context.Context, source string) *drillView {
	ran, ok := s.lastDrills.get(source)
	var rec *drillView
	var newest catalog.DrillRecord
	if inv := s.inv.get(source); inv != nil {
		for _, l := range inv.Listings {
			for _, b := range l.Backups {
				for _, d := range b.Drills {
					if rec == nil || d.At.After(rec.At) {
						rec = &drillView{At: d.At, OK: d.OK, BackupID: b.ID, Destination: l.Name, FromManifest: true}
						newest = d
					}
				}
			}
		}
	}
	// The server's own drill is also recorded next to the backup, at the same time: prefer
	// the report, which has the checks.
	if ok && (rec == nil || !ran.At.Before(rec.At)) {
		return &ran
	}
	if rec != nil {
		detail := s.drillDetail(ctx, rec.Destination, newest)
		rec.Summary = detail
		if !rec.OK {
			rec.Error = detail
		}
	}
	return rec
}

// drillDetail is the detail of a listed drill record, read from its object once and then
// remembered (records are write-once): the listing knows only when and how it ended.
func (s *Server) drillDetail(ctx context.Context, destination string, r catalog.DrillRecord) string {
	if r.Key == "" {
		return r.Detail
	}
	cacheKey := destination + "\x00" + r.Key
	if v, ok := s.drillDetails.Load(cacheKey); ok {
		return v.(string)
	}
	d, err := s.app.Destination(destination, false)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	full, err := catalog.ReadDrill(ctx, d.Store, r)
	if err != nil {
		s.log.Warn("read drill record", "destination", destination, "key", r.Key, "err", err)
		return ""
	}
	s.drillDetails.Store(cacheKey, full.Detail)
	return full.Detail
}
