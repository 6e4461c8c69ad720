package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
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
	m.SetDamaged("vault", "local", 1)
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	want := []string{
		"lifeboat_backup_copies_damaged",
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
	doc, err := os.ReadFile("../../docs/serve.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.Contains(string(doc), "| `"+n+"` |") {
			t.Errorf("docs/serve.md's metrics table has no row for %s", n)
		}
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

// Pushes to a real Pushgateway: an ok run, then a failed one. The gateway shows the
// series under job "lifeboat" with the source label from the grouping key, and the
// failed run's push (POST) leaves the earlier last success in place.
func TestPush(t *testing.T) {
	gw := testenv.StartPushgateway(t)
	okRun := partialRun()
	okRun.Status, okRun.Destinations[1] = "ok", history.Destination{Name: "minio", OK: true}
	failed := partialRun()
	failed.ID, failed.Status, failed.SHA256 = "vault-20261123T110000Z-3c4d", "failed", ""
	failed.Started, failed.Finished = finished.Add(time.Hour-time.Minute), finished.Add(time.Hour)
	failed.Destinations = []history.Destination{{Name: "local", Error: "disk full"}, {Name: "minio", Error: "connection refused"}}

	type sample struct {
		name   string
		labels []string
		want   float64
	}
	src := []string{"job", "lifeboat", "source", "vault"}
	with := func(l ...string) []string { return append(append([]string{}, src...), l...) }
	for _, step := range []struct {
		run     history.Run
		samples []sample
	}{
		{okRun, []sample{
			{"lifeboat_backup_last_success_timestamp_seconds", src, float64(finished.Unix())},
			{"lifeboat_backup_runs_total", with("status", "ok"), 1},
			{"lifeboat_backup_failures_total", with("destination", "minio"), 0},
		}},
		{failed, []sample{
			{"lifeboat_backup_last_success_timestamp_seconds", src, float64(finished.Unix())}, // survived
			{"lifeboat_backup_last_attempt_timestamp_seconds", src, float64(failed.Finished.Unix())},
			{"lifeboat_backup_runs_total", with("status", "failed"), 1},
			{"lifeboat_backup_runs_total", with("status", "ok"), 0}, // this run's counts, not a sum
			{"lifeboat_backup_failures_total", with("destination", "minio"), 1},
			{"lifeboat_backup_failures_total", with("destination", "local"), 1},
		}},
	} {
		m := New()
		m.Init("vault", []string{"local", "minio"})
		m.Observe(step.run)
		if err := m.Push(context.Background(), gw.URL, "vault"); err != nil {
			t.Fatal(err)
		}
		for _, s := range step.samples {
			got, ok := gw.Sample(s.name, s.labels...)
			if !ok || got != s.want {
				t.Errorf("after pushing the %s run: %s%v = %v (present %v), want %v\n%s", step.run.Status, s.name, s.labels, got, ok, s.want, lifeboatLines(gw.Metrics()))
			}
		}
	}
}

func TestPushErrors(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, c := range []struct {
		name, url string
		want      string
		never     []string // must not appear in the error
	}{
		{"gateway down", dead.URL, "--pushgateway", nil},
		{"credentials", "https://pusher:hunter2@pushgateway.example:9091", "user-info", []string{"hunter2", "pusher"}},
		{"user only", "https://s3cr3t-token@pushgateway.example:9091", "user-info", []string{"s3cr3t-token"}},
		{"broken URL with credentials", "http://u:hunter2@[::1", "not a valid URL", []string{"hunter2"}},
		{"no scheme", "pushgateway:9091", "http:// or https://", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := New().Push(context.Background(), c.url, "vault")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("push to %s: %v, want an error with %q", c.url, err, c.want)
			}
			for _, s := range c.never {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error shows %q: %v", s, err)
				}
			}
		})
	}
}

// lifeboatLines keeps a scrape's lifeboat series, for readable failures.
func lifeboatLines(scrape string) string {
	var out []string
	for _, l := range strings.Split(scrape, "\n") {
		if strings.HasPrefix(l, "lifeboat_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
