package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/drill"
	"github.com/lifeboat-backup/lifeboat/internal/restore"
)

// Drills run on their own schedule and feed lifeboat_drill_* metrics; a failing drill
// leaves the last success where it was.
func TestDrillsRunOnTheirSchedule(t *testing.T) {
	var calls atomic.Int32
	fail := atomic.Bool{}
	e := newEnv(t, "", func(o *Options) {
		o.Baseline = false
		o.Drill = func(_ context.Context, source string) (*drill.Report, error) {
			calls.Add(1)
			r := &drill.Report{Report: &restore.Report{Source: source, BackupID: "workflows-x", Started: o.Clock.Now(), Duration: 2 * time.Second}}
			if fail.Load() {
				r.Err = errors.New("table public.t has 1 rows, the backup recorded 2")
			}
			return r, nil
		}
	})
	e.cfg.Sources[1].Drill = &config.Drill{Schedule: "0 3 * * *"}
	e.start()
	e.clock.BlockUntil(t, 3)                       // vault's backup tick, the drill tick, the refresher
	e.clock.Advance(16*time.Hour + 30*time.Minute) // 03:00 next day
	waitFor(t, func() bool { return calls.Load() == 1 })
	out := scrape(t, e)
	if !strings.Contains(out, `lifeboat_drill_runs_total{source="workflows",status="ok"} 1`) ||
		!strings.Contains(out, `lifeboat_drill_last_success_timestamp_seconds{source="workflows"}`) {
		t.Fatalf("drill metrics after a passing drill:\n%s", out)
	}
	fail.Store(true)
	e.clock.BlockUntil(t, 3)
	e.clock.Advance(24 * time.Hour)
	waitFor(t, func() bool { return calls.Load() == 2 })
	waitFor(t, func() bool {
		return strings.Contains(scrape(t, e), `lifeboat_drill_runs_total{source="workflows",status="failed"} 1`)
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func scrape(t *testing.T, e *env) string {
	t.Helper()
	var body string
	e.do("GET", "/metrics", testToken, nil, &body)
	return body
}

// After a restart, lifeboat_drill_last_success_timestamp_seconds comes back from the drill
// records beside the backups (the newest passing one; a later failed drill does not count),
// so the chart's absent() alert does not fire after every restart.
func TestDrillSuccessSeededFromDrillRecords(t *testing.T) {
	e := newEnv(t, "")
	e.start()
	first := e.wait(e.trigger("workflows").ID)
	second := e.wait(e.trigger("workflows").ID)
	passed := start.Add(5 * time.Minute)
	for _, c := range []struct {
		dest, id string
		report   *drill.Report
	}{
		{"local", first.ID, &drill.Report{Report: &restore.Report{Started: start.Add(time.Minute), Duration: time.Minute}}},
		{"second", second.ID, &drill.Report{Report: &restore.Report{Started: passed.Add(-time.Minute), Duration: time.Minute}}},
		{"local", second.ID, &drill.Report{Report: &restore.Report{Started: start.Add(9 * time.Minute), Duration: time.Minute, Err: errors.New("row counts differ")}}},
	} {
		d, err := e.app.Destination(c.dest, false)
		if err != nil {
			t.Fatal(err)
		}
		backups, _, err := catalog.List(context.Background(), d.Store, "workflows")
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(backups, func(b catalog.Backup) bool { return b.ID == c.id })
		if i < 0 {
			t.Fatalf("%s is not in %s", c.id, c.dest)
		}
		if err := drill.Record(context.Background(), app.Located{Dest: d, Manifest: backups[i].Manifest}, c.report); err != nil {
			t.Fatal(err)
		}
	}

	// A new server over the same destinations, with an empty history and no drill run.
	restarted := newEnv(t, "")
	restarted.dir = e.dir
	restarted.opts.App.Config = restarted.parse(defaultServer)
	restarted.app, restarted.cfg = restarted.opts.App, restarted.opts.App.Config
	restarted.start()
	want := fmt.Sprintf(`lifeboat_drill_last_success_timestamp_seconds{source="workflows"} %g`, float64(passed.Unix()))
	waitFor(t, func() bool { return strings.Contains(scrape(t, restarted), want) })
	if out := scrape(t, restarted); strings.Contains(out, `lifeboat_drill_last_success_timestamp_seconds{source="vault"}`) {
		t.Fatalf("a drill success for vault, which has no drill record:\n%s", out)
	}
}
