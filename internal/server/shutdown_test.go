package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
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
	e.clock.WaitTimers(t, 1) // the grace timer
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
