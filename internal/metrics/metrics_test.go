package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var finished = time.Date(2026, 11, 23, 10, 1, 0, 0, time.UTC)

func partialRun() history.Run {
	return history.Run{
		ID: "vault-20261123T100000Z-1a2b", Source: "vault", Status: "partial",
		Started: finished.Add(-time.Minute), Finished: finished, Size: 1234, SHA256: "ab",
		Destinations: []history.Destination{{Name: "local", OK: true}, {Name: "minio", Error: "connection refused"}},
	}
}

// The names are an interface: dashboards and alerts (docs/serve.md) depend on them.
func TestNames(t *testing.T) {
	m := New()
	m.Init("vault", []string{"local", "minio"})
	m.Observe(partialRun())
	ok := partialRun()
	ok.Status, ok.Destinations[1] = "ok", history.Destination{Name: "minio", OK: true}
	m.Observe(ok)
	m.SetStored("vault", "local", 3, finished)
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	want := []string{
		"lifeboat_backup_duration_seconds",
		"lifeboat_backup_failures_total",
		"lifeboat_backup_last_attempt_timestamp_seconds",
		"lifeboat_backup_last_success_timestamp_seconds",
		"lifeboat_backup_runs_total",
		"lifeboat_backup_size_bytes",
		"lifeboat_backups_stored",
		"lifeboat_destination_last_success_timestamp_seconds",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("metric names\n got %v\nwant %v", names, want)
	}
}

func TestObserve(t *testing.T) {
	m := New()
	m.Init("vault", []string{"local", "minio"})
	m.Observe(partialRun())
	check := func(name string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("failures minio", testutil.ToFloat64(m.failures.WithLabelValues("vault", "minio")), 1)
	check("failures local", testutil.ToFloat64(m.failures.WithLabelValues("vault", "local")), 0)
	check("runs partial", testutil.ToFloat64(m.runs.WithLabelValues("vault", "partial")), 1)
	check("runs ok", testutil.ToFloat64(m.runs.WithLabelValues("vault", "ok")), 0)
	check("duration", testutil.ToFloat64(m.duration.WithLabelValues("vault")), 60)
	check("attempt", testutil.ToFloat64(m.lastAttempt.WithLabelValues("vault")), float64(finished.Unix()))
	check("local last success", testutil.ToFloat64(m.destLastSuccess.WithLabelValues("vault", "local")), float64(finished.Unix()))
	// A partial run is not a success of the source: one destination is missing it.
	if n := testutil.CollectAndCount(m.lastSuccess); n != 0 {
		t.Errorf("a partial run set the last success (%d series)", n)
	}
	if n := testutil.CollectAndCount(m.destLastSuccess); n != 1 {
		t.Errorf("the failed destination got a last success (%d series)", n)
	}
}

// A real Pushgateway is not installable here (no Debian package, and the project builds
// servers only from Go modules it pins); this records what the push package sends, which
// is the Pushgateway's documented API: POST /metrics/job/<job>/<label>/<value>.
func TestPush(t *testing.T) {
	var mu sync.Mutex
	var method, path, body string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		method, path, body = r.Method, r.URL.Path, string(b)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	m := New()
	m.Observe(partialRun())
	if err := m.Push(context.Background(), gw.URL, "vault"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if method != http.MethodPost || path != "/metrics/job/lifeboat/source/vault" {
		t.Fatalf("push went to %s %s", method, path)
	}
	for _, s := range []string{
		`lifeboat_backup_failures_total{destination="minio"} 1`,
		`lifeboat_backup_runs_total{status="partial"} 1`,
		"lifeboat_backup_last_attempt_timestamp_seconds",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("pushed body lacks %s:\n%s", s, body)
		}
	}
	if strings.Contains(body, "lifeboat_backup_last_success_timestamp_seconds") {
		t.Errorf("a failed run pushed a last success, overwriting the real one:\n%s", body)
	}

	gw.Close()
	if err := m.Push(context.Background(), gw.URL, "vault"); err == nil || !strings.Contains(err.Error(), "--pushgateway") {
		t.Fatalf("push to a dead gateway: %v", err)
	}
}
