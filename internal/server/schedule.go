package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/robfig/cron/v3"
)

// schedule is one source's cron schedule (UTC) and its next planned run.
type schedule struct {
	spec   cron.Schedule
	expr   string
	jitter time.Duration

	mu   sync.Mutex
	next time.Time
}

func schedules(sources []config.Source) (map[string]*schedule, error) {
	out := map[string]*schedule{}
	for _, src := range sources {
		if src.Schedule == "" {
			continue
		}
		spec, err := cron.ParseStandard(src.Schedule)
		if err != nil {
			return nil, fmt.Errorf("sources[%s].schedule %q: %w", src.Name, src.Schedule, err)
		}
		out[src.Name] = &schedule{spec: spec, expr: src.Schedule, jitter: src.Jitter.Duration}
	}
	return out, nil
}

// Interval is the time between the next two runs after now. For uneven schedules
// ("0 9 * * 1-5") it is the gap the schedule is about to have, which is what "one
// interval old" should mean for the baseline and RPO checks right now.
func Interval(spec cron.Schedule, now time.Time) time.Duration {
	n1 := spec.Next(now)
	return spec.Next(n1).Sub(n1)
}

func (sc *schedule) interval(now time.Time) time.Duration { return Interval(sc.spec, now) }

// Next is when the source's next scheduled run starts (zero when not known yet).
func (sc *schedule) Next() time.Time {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.next
}

func (sc *schedule) plan(now time.Time) time.Time {
	next := sc.spec.Next(now)
	if sc.jitter > 0 {
		next = next.Add(rand.N(sc.jitter))
	}
	sc.mu.Lock()
	sc.next = next
	sc.mu.Unlock()
	return next
}

// sourceLoop lists the source's destinations, takes the baseline backup if one is due,
// then triggers a run at each scheduled time until ctx ends.
func (s *Server) sourceLoop(ctx context.Context, source string) {
	s.refresh(ctx, source)
	sc := s.sched[source]
	if sc == nil {
		return
	}
	if s.opts.Baseline {
		s.baseline(source, sc)
	}
	for {
		now := s.clock.Now()
		next := sc.plan(now)
		c, stop := s.clock.Timer(next.Sub(now))
		select {
		case <-ctx.Done():
			stop()
			return
		case <-c:
		}
		_, err := s.Trigger(source, history.TriggerSchedule, nil)
		var busy *BusyError
		switch {
		case errors.Is(err, ErrStopping):
			return
		case errors.As(err, &busy):
			s.log.Warn("scheduled backup skipped: the previous run is still going; if this repeats, "+
				"the schedule is shorter than a backup takes", "source", source, "running", busy.RunningID, "schedule", sc.expr)
		case err != nil:
			s.log.Error("scheduled backup not started", "source", source, "err", err)
		}
	}
}

// baseline starts a backup now when the newest backup in any destination is older than
// one schedule interval, or there is none: after downtime or on a new install the next
// tick could be a whole interval (a day, a week) away.
func (s *Server) baseline(source string, sc *schedule) {
	now := s.clock.Now()
	interval := sc.interval(now)
	newest, _ := s.inv.newest(source)
	if !newest.IsZero() && now.Sub(newest) <= interval {
		return
	}
	why := "no committed backup in any destination"
	if !newest.IsZero() {
		why = fmt.Sprintf("the newest backup is %s old, more than the schedule's interval of %s", now.Sub(newest).Round(time.Second), interval)
	}
	r, err := s.Trigger(source, history.TriggerBaseline, nil)
	if err != nil {
		s.log.Warn("baseline backup not started", "source", source, "err", err)
		return
	}
	s.log.Info("baseline backup started", "source", source, "run", r.ID, "why", why)
}
