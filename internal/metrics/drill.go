package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// drillMetrics are the restore-rehearsal series; they live in their own collector so that
// a one-shot `lifeboat drill --pushgateway` pushes only them.
type drillMetrics struct {
	lastSuccess *prometheus.GaugeVec
	lastAttempt *prometheus.GaugeVec
	duration    *prometheus.GaugeVec
	runs        *prometheus.CounterVec
}

func newDrillMetrics() *drillMetrics {
	return &drillMetrics{
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_drill_last_success_timestamp_seconds",
			Help: "When the last restore drill of the source that passed every check finished (Unix time).",
		}, []string{"source"}),
		lastAttempt: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_drill_last_attempt_timestamp_seconds",
			Help: "When the last restore drill of the source finished, whatever its outcome (Unix time).",
		}, []string{"source"}),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeboat_drill_duration_seconds",
			Help: "How long the last restore drill of the source took.",
		}, []string{"source"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifeboat_drill_runs_total",
			Help: "Finished restore drills by status: ok or failed.",
		}, []string{"source", "status"}),
	}
}

func (d *drillMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{d.lastSuccess, d.lastAttempt, d.duration, d.runs}
}

// ObserveDrill records one finished drill.
func (m *Metrics) ObserveDrill(source string, finished time.Time, took time.Duration, ok bool) {
	m.drills.lastAttempt.WithLabelValues(source).Set(unix(finished))
	m.drills.duration.WithLabelValues(source).Set(took.Seconds())
	status := "failed"
	if ok {
		status = "ok"
		m.SetDrillLastSuccess(source, finished)
	}
	m.drills.runs.WithLabelValues(source, status).Inc()
}

// InitDrill creates a source's drill counters at zero.
func (m *Metrics) InitDrill(source string) {
	m.drills.runs.WithLabelValues(source, "ok")
	m.drills.runs.WithLabelValues(source, "failed")
}

// SetDrillLastSuccess records a passing drill of source at t unless a later one is known.
// Besides drills it runs, the server seeds it from the drill records beside the backups, so
// after a restart the series is there and an absent() alert does not fire.
func (m *Metrics) SetDrillLastSuccess(source string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.IsZero() || !t.After(m.drillSuccess[source]) {
		return
	}
	m.drillSuccess[source] = t
	m.drills.lastSuccess.WithLabelValues(source).Set(unix(t))
}
