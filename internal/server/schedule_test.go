package server

import (
	"context"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/robfig/cron/v3"
)

func TestInterval(t *testing.T) {
	for expr, want := range map[string]time.Duration{
		"* * * * *":    time.Minute,
		"0 * * * *":    time.Hour,
		"15 */6 * * *": 6 * time.Hour,
		"@daily":       24 * time.Hour,
		"@every 90m":   90 * time.Minute,
		"0 9 * * 1-5":  24 * time.Hour, // from a Monday: Tuesday 9:00 to Wednesday 9:00
	} {
		spec, err := cron.ParseStandard(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := Interval(spec, start); got != want {
			t.Errorf("Interval(%q) = %s, want %s", expr, got, want)
		}
	}
}

// The schedule fires on the hour (UTC) with the fake clock, and a tick while the source
// is still running is skipped rather than queued.
func TestScheduleRunsOnTheFakeClock(t *testing.T) {
	e := newEnv(t, "", func(o *Options) { o.Baseline = false }).start()
	e.clock.BlockUntil(t, 2) // vault's next tick and the refresher
	if next := e.srv.sched["vault"].Next(); !next.Equal(time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("next run %s", next)
	}
	if runs, _ := e.hist.List(context.Background(), "", 0); len(runs) != 0 {
		t.Fatalf("a run before the first tick: %+v", runs)
	}
	e.clock.Advance(30 * time.Minute) // 11:00
	runs := e.runs("vault", 1)
	if runs[0].Trigger != history.TriggerSchedule || runs[0].Status != "ok" || !runs[0].Started.Equal(time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("scheduled run: %+v", runs[0])
	}
	if wf, _ := e.hist.List(context.Background(), "workflows", 0); len(wf) != 0 {
		t.Fatal("a source without a schedule ran")
	}

	// Hold the 12:00 run; the 13:00 tick finds it running and is skipped.
	e.gate = make(chan struct{})
	e.clock.BlockUntil(t, 2)
	e.clock.Advance(time.Hour)
	held := waitRunning(t, e, "vault")
	e.clock.BlockUntil(t, 2)
	e.clock.Advance(time.Hour)
	e.clock.BlockUntil(t, 2) // the loop planned 14:00 after skipping 13:00
	e.release()
	e.wait(held)
	if runs := e.runs("vault", 2); len(runs) != 2 {
		t.Fatalf("want 2 runs (the 13:00 tick skipped), got %+v", runs)
	}
}

func waitRunning(t *testing.T, e *env, source string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if id, ok := e.srv.Running(source); ok {
			return id
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no run of %s started", source)
	return ""
}

// plan delays each tick by a random amount below the jitter: every sample is in
// [tick, tick+jitter), and they are spread over it (a plan that ignored the jitter, or
// used a constant, fails).
func TestJitterSpreadsWithinBound(t *testing.T) {
	spec, _ := cron.ParseStandard("0 * * * *")
	const jitter = 10 * time.Minute
	sc := &schedule{spec: spec, jitter: jitter}
	tick := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	const n = 200
	after := 0
	lo, hi := tick.Add(jitter), tick
	for range n {
		next := sc.plan(start)
		if next.Before(tick) || !next.Before(tick.Add(jitter)) {
			t.Fatalf("jittered next %s outside [%s, +%s)", next, tick, jitter)
		}
		if !sc.Next().Equal(next) {
			t.Fatalf("Next() = %s, plan returned %s", sc.Next(), next)
		}
		if next.After(tick) {
			after++
		}
		lo, hi = minTime(lo, next), maxTime(hi, next)
	}
	if after < n*9/10 {
		t.Errorf("only %d of %d runs planned after the tick", after, n)
	}
	if spread := hi.Sub(lo); spread < jitter/2 {
		t.Errorf("%d plans spread over only %s of the %s jitter", n, spread, jitter)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// With jitter, the status's nextScheduled is the jittered time, and the run starts then,
// not at the tick.
func TestJitteredRunStartsAtNextScheduled(t *testing.T) {
	e := newEnv(t, "", func(o *Options) { o.Baseline = false })
	e.cfg.Sources[0].Jitter.Duration = 10 * time.Minute
	e.start()
	e.clock.BlockUntil(t, 2) // vault's next run and the refresher
	tick := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	var st api.StatusResponse
	e.do("GET", "/api/v1/status", testToken, nil, &st)
	next := st.Sources[0].NextScheduled
	if next == nil || !next.After(tick) || !next.Before(tick.Add(10*time.Minute)) {
		t.Fatalf("nextScheduled %v, want after the %s tick and within the 10m jitter", next, tick)
	}
	if st.Sources[0].StaleAfterSeconds != (2*time.Hour + 10*time.Minute).Seconds() {
		t.Errorf("staleAfterSeconds %v, want two intervals plus the jitter", st.Sources[0].StaleAfterSeconds)
	}
	e.clock.Advance(tick.Sub(start)) // the tick itself
	e.clock.BlockUntil(t, 2)
	if runs, _ := e.hist.List(context.Background(), "vault", 0); len(runs) != 0 {
		t.Fatalf("a run started at the tick, before its jittered time %s: %+v", next, runs)
	}
	e.clock.Advance(next.Sub(tick))
	if r := e.runs("vault", 1)[0]; !r.Started.Equal(*next) || r.Trigger != history.TriggerSchedule {
		t.Fatalf("scheduled run %+v, want it started at %s", r, next)
	}
}

// Baseline: no backup at all, or the newest older than one interval, starts a run at
// once; a fresh one does not.
func TestBaseline(t *testing.T) {
	dir := ""
	mk := func(now time.Time) *env {
		e := newEnv(t, "", func(o *Options) { o.Baseline = true })
		if dir != "" {
			e.dir = dir
			e.opts.App.Config = e.parse(defaultServer)
			e.app, e.cfg = e.opts.App, e.opts.App.Config
		}
		dir = e.dir
		e.clock = clocktest.New(now)
		e.opts.Clock = e.clock
		return e.start()
	}
	e := mk(start)
	first := e.runs("vault", 1)[0]
	if first.Trigger != history.TriggerBaseline || first.Status != "ok" {
		t.Fatalf("baseline on an empty destination: %+v", first)
	}
	if wf, _ := e.hist.List(context.Background(), "workflows", 0); len(wf) != 0 {
		t.Fatal("baseline for a source without a schedule")
	}

	e = mk(start.Add(50 * time.Minute)) // newest backup 50m old, interval 1h
	e.clock.BlockUntil(t, 2)
	if runs, _ := e.hist.List(context.Background(), "", 0); len(runs) != 0 {
		t.Fatalf("baseline although the newest backup is fresh: %+v", runs)
	}

	e = mk(start.Add(61 * time.Minute))
	if r := e.runs("vault", 1)[0]; r.Trigger != history.TriggerBaseline {
		t.Fatalf("no baseline after more than an interval: %+v", r)
	}
}
