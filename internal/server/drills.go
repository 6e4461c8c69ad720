package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/robfig/cron/v3"

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
// shutdown grace, like backups) and records it in the metrics and the log.
func (s *Server) drill(source string) {
	started := s.clock.Now()
	report, err := s.opts.Drill(s.runCtx, source)
	if err != nil {
		s.met.ObserveDrill(source, s.clock.Now(), s.clock.Now().Sub(started), false)
		s.log.Error("drill not started", "source", source, "err", err)
		s.app.NotifyDrill(s.runCtx, s.notify, source, "latest", "", err)
		return
	}
	s.met.ObserveDrill(source, report.Started.Add(report.Duration), report.Duration, report.OK())
	if report.OK() {
		s.log.Info(report.Summary(), "source", source, "backup", report.BackupID)
	} else {
		s.log.Error(report.Summary(), "source", source, "backup", report.BackupID)
		s.app.NotifyDrill(s.runCtx, s.notify, source, report.BackupID, report.Destination, report.Err)
	}
}
