package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/history"
)

func shutdownAsync(e *env) chan struct{} {
	done := make(chan struct{})
	go func() { e.srv.Shutdown(context.Background()); close(done) }()
	return done
}

func stillWaiting(t *testing.T, done chan struct{}) {
	t.Helper()
	select {
	case <-done:
		t.Fatal("Shutdown returned while a backup was running and the grace period was not over")
	case <-time.After(50 * time.Millisecond):
	}
}

// A running backup finishes within the grace period and is committed; no new run starts.
func TestShutdownLetsARunningBackupFinish(t *testing.T) {
	e := newEnv(t, "")
	e.gate = make(chan struct{})
	e.start()
	r := e.trigger("workflows")
	done := shutdownAsync(e)
	stillWaiting(t, done)
	if resp := e.do("POST", "/api/v1/sources/vault/backup", testToken, nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("trigger during shutdown: %s", resp.Status)
	}
	if resp := e.do("GET", "/readyz", "", nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz during shutdown: %s", resp.Status)
	}
	e.release()
	<-done
	if got, _ := e.hist.Get(context.Background(), r.ID); got.Status != "ok" {
		t.Fatalf("run after a graceful shutdown: %+v", got)
	}
}

// When the grace period ends the run is cancelled: it is recorded as failed and nothing
// is committed in any destination.
func TestShutdownCancelsAfterGrace(t *testing.T) {
	e := newEnv(t, "")
	e.gate = make(chan struct{})
	e.start()
	r := e.trigger("workflows")
	done := shutdownAsync(e)
	stillWaiting(t, done)
	e.clock.BlockUntil(t, 1) // the grace timer
	e.clock.Advance(time.Minute)
	<-done
	got, _ := e.hist.Get(context.Background(), r.ID)
	if got.Status != "failed" || got.Error == "" {
		t.Fatalf("cancelled run: %+v", got)
	}
	for _, name := range []string{"local", "second"} {
		d, err := e.app.Destination(name, false)
		if err != nil {
			t.Fatal(err)
		}
		if backups, _, _ := catalog.List(context.Background(), d.Store, "workflows"); len(backups) != 0 {
			t.Fatalf("a cancelled run committed %+v in %s", backups, name)
		}
	}
}

// Abort (a second SIGTERM) cancels at once.
func TestAbort(t *testing.T) {
	e := newEnv(t, "")
	e.gate = make(chan struct{})
	e.start()
	r := e.trigger("workflows")
	done := shutdownAsync(e)
	stillWaiting(t, done)
	e.srv.Abort()
	<-done
	if got, _ := e.hist.Get(context.Background(), r.ID); got.Status != "failed" {
		t.Fatalf("aborted run: %+v", got)
	}
}

// A run the previous process left "running" (kill -9) is closed at start.
func TestStartClosesInterruptedRuns(t *testing.T) {
	e := newEnv(t, "")
	id := catalog.NewBackupID("vault", start.Add(-time.Hour))
	_ = e.hist.Put(context.Background(), runningRecord(id))
	e.start()
	got, _ := e.hist.Get(context.Background(), id)
	if got.Status != "failed" || got.Error == "" {
		t.Fatalf("interrupted run after start: %+v", got)
	}
}

// A triggered run records its destinations at once, so when the process dies mid-run
// the next start marks each of them interrupted and counts the failed run and the
// destinations' failures in the metrics.
func TestInterruptedRunIsCountedPerDestination(t *testing.T) {
	crashed := newEnv(t, "")
	crashed.gate = make(chan struct{})
	crashed.start()
	r := crashed.trigger("workflows")
	if names := destNames(r.Destinations); names != "local,second" {
		t.Fatalf("a running run names destinations %q, want local,second", names)
	}
	stored, _ := crashed.hist.Get(context.Background(), r.ID)
	if names := destNames(stored.Destinations); names != "local,second" || !stored.Running() {
		t.Fatalf("the running run's record: %+v", stored)
	}

	// The crashed process never finishes the record; a new one starts on its history.
	next := newEnv(t, "", func(o *Options) { o.History = crashed.hist })
	next.start()
	got, _ := next.hist.Get(context.Background(), r.ID)
	if got.Status != "failed" || len(got.Destinations) != 2 || got.Destinations[0].Error != "interrupted" || got.Destinations[1].Error != "interrupted" {
		t.Fatalf("the interrupted run after the restart: %+v", got)
	}
	out := scrape(t, next)
	for _, want := range []string{
		`lifeboat_backup_runs_total{source="workflows",status="failed"} 1`,
		`lifeboat_backup_failures_total{destination="local",source="workflows"} 1`,
		`lifeboat_backup_failures_total{destination="second",source="workflows"} 1`,
		`lifeboat_backup_failures_total{destination="local",source="vault"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics after the restart lacks %s", want)
		}
	}
}

// Only some destinations: the run names just those.
func TestTriggerRecordsOnlyItsDestinations(t *testing.T) {
	e := newEnv(t, "")
	e.gate = make(chan struct{})
	e.start()
	var r history.Run
	if resp := e.do("POST", "/api/v1/sources/vault/backup", testToken, strings.NewReader(`{"destinations":["second"]}`), &r); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("trigger: %s", resp.Status)
	}
	if names := destNames(r.Destinations); names != "second" {
		t.Fatalf("run to one destination names %q", names)
	}
	e.release()
	if done := e.wait(r.ID); done.Status != "ok" || destNames(done.Destinations) != "second" {
		t.Fatalf("finished run: %+v", done)
	}
}

func destNames(ds []history.Destination) string {
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return strings.Join(names, ",")
}
