// Package metrics defines lifeboat's Prometheus metrics, served by `lifeboat serve` on
// /metrics and pushed by one-shot runs to a Pushgateway. Both report the same series so
// one set of alerts covers a CronJob and an agent alike.
package metrics

import (
	"sync"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is lifeboat's metric set in its own registry (not the global one, so nothing a
// library registers leaks into pushes and tests see exactly these series).
type Metrics struct {
	Registry *prometheus.Registry

	lastSuccess     *prometheus.GaugeVec
	lastAttempt     *prometheus.GaugeVec
	duration        *prometheus.GaugeVec
	size            *prometheus.GaugeVec
	failures        *prometheus.CounterVec
	runs            *prometheus.CounterVec
	destLastSuccess *prometheus.GaugeVec
	stored          *prometheus.GaugeVec
	damaged         *prometheus.GaugeVec
	suspicious      *prometheus.GaugeVec
	notifyFailed    *prometheus.CounterVec // notify.go

	mu           sync.Mutex
	success      map[string]time.Time // what lastSuccess holds, so seeding never moves it back
	drillSuccess map[string]time.Time // the same for the drills' last success
	drills       *drillMetrics
}

// New makes the metric set, with no series until something is observed.
func New() *Metrics {
	m := &Metrics{
		Registry:     prometheus.NewRegistry(),
		success:      map[string]time.Time{},
		drillSuccess: map[string]time.Time{},
		drills:       newDrillMetrics(),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_backup_last_success_timestamp_seconds",
			Help: "When the last backup of the source committed to every destination finished (Unix time).",
		}, []string{"source"}),
		lastAttempt: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_backup_last_attempt_timestamp_seconds",
			Help: "When the last backup run of the source finished, whatever its outcome (Unix time).",
		}, []string{"source"}),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_backup_duration_seconds",
			Help: "How long the last backup run of the source took.",
		}, []string{"source"}),
		size: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_backup_size_bytes",
			Help: "Stored size (after compression and encryption) of the last committed backup of the source.",
		}, []string{"source"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifeboat_backup_failures_total",
			Help: "Backup runs in which the destination did not commit the backup or its retention failed.",
		}, []string{"source", "destination"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifeboat_backup_runs_total",
			Help: "Finished backup runs by status: ok, partial (some destinations failed) or failed.",
		}, []string{"source", "status"}),
		destLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_destination_last_success_timestamp_seconds",
			Help: "When the newest backup of the source committed in the destination finished (Unix time).",
		}, []string{"source", "destination"}),
		stored: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_backups_stored",
			Help: "Committed backups of the source in the destination, as last listed.",
		}, []string{"source", "destination"}),
		damaged: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_backup_copies_damaged",
			Help: "Copies of backups of the source in the destination that cannot be used (manifest unreadable, data missing or of another size), as last listed.",
		}, []string{"source", "destination"}),
		suspicious: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_backup_suspicious",
			Help: "1 while the destination's newest backup of the source is suspicious (far smaller than the last good one) or backups of an older lineage (a re-initialised cluster) are held back from retention, as last listed; else 0.",
		}, []string{"source", "destination"}),
	}
	m.Registry.MustRegister(m.lastSuccess, m.lastAttempt, m.duration, m.size, m.failures, m.runs, m.destLastSuccess, m.stored, m.damaged, m.suspicious)
	m.Registry.MustRegister(m.drills.collectors()...)
	m.notifyFailed = newNotificationsFailed()
	m.Registry.MustRegister(m.notifyFailed)
	return m
}

// Init creates the counters of a source at zero, so that increase() and rate() see the
// first failure instead of a series appearing from nowhere.
func (m *Metrics) Init(source string, destinations []string) {
	for _, d := range destinations {
		m.failures.WithLabelValues(source, d)
	}
	for _, s := range []pipeline.Status{pipeline.StatusOK, pipeline.StatusPartial, pipeline.StatusFailed} {
		m.runs.WithLabelValues(source, string(s))
	}
}

// Observe records a finished run.
func (m *Metrics) Observe(r history.Run) {
	if r.Running() {
		return
	}
	m.lastAttempt.WithLabelValues(r.Source).Set(unix(r.Finished))
	m.duration.WithLabelValues(r.Source).Set(r.Duration().Seconds())
	m.runs.WithLabelValues(r.Source, r.Status).Inc()
	if r.Status == string(pipeline.StatusOK) {
		m.SetLastSuccess(r.Source, r.Finished)
	}
	if r.SHA256 != "" {
		m.size.WithLabelValues(r.Source).Set(float64(r.Size))
	}
	for _, d := range r.Destinations {
		if !d.OK || d.PruneError != "" {
			m.failures.WithLabelValues(r.Source, d.Name).Inc()
		}
		if d.OK {
			m.destLastSuccess.WithLabelValues(r.Source, d.Name).Set(unix(r.Finished))
		}
	}
}

// SetLastSuccess records a success of source at t unless a later one is known. Besides
// runs, the server seeds it from its history and the catalog, so a restarted server
// does not lose it.
func (m *Metrics) SetLastSuccess(source string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.IsZero() || !t.After(m.success[source]) {
		return
	}
	m.success[source] = t
	m.lastSuccess.WithLabelValues(source).Set(unix(t))
}

// SetStored records a listing of one destination: how many committed backups it holds
// and when the newest of them finished (zero when it holds none).
func (m *Metrics) SetStored(source, destination string, count int, newest time.Time) {
	m.stored.WithLabelValues(source, destination).Set(float64(count))
	if !newest.IsZero() {
		m.destLastSuccess.WithLabelValues(source, destination).Set(unix(newest))
	}
}

// SetDamaged records how many damaged copies a listing of one destination found.
func (m *Metrics) SetDamaged(source, destination string, count int) {
	m.damaged.WithLabelValues(source, destination).Set(float64(count))
}

// SetSuspicious records whether a listing of one destination needs an operator's look
// (catalog.Attention).
func (m *Metrics) SetSuspicious(source, destination string, suspicious bool) {
	v := 0.0
	if suspicious {
		v = 1
	}
	m.suspicious.WithLabelValues(source, destination).Set(v)
}

// ObserveInventory records what an inventory found in each destination it could list;
// a destination it could not list keeps its earlier series (the run or the log reports
// it).
func (m *Metrics) ObserveInventory(inv *inventory.Inventory) {
	for _, l := range inv.Listings {
		if l.Err != nil {
			continue
		}
		var newest time.Time
		if b := l.Newest(); b != nil {
			newest = b.Manifest.Finished
		}
		m.SetStored(inv.Source, l.Name, len(l.Backups), newest)
		m.SetDamaged(inv.Source, l.Name, len(l.Damaged))
		m.SetSuspicious(inv.Source, l.Name, catalog.Attention(l.Backups) != "")
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
