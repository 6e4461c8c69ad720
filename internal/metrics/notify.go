package metrics

import "github.com/prometheus/client_golang/prometheus"

func newNotificationsFailed() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lifeboat_notifications_failed_total",
		Help: "Notifications a notifier did not get after every retry (the receiver was down or refused them, or its secret could not be read).",
	}, []string{"notifier"})
}

// InitNotifier creates a notifier's failure counter at zero, so that increase() sees the
// first failure.
func (m *Metrics) InitNotifier(name string) { m.notifyFailed.WithLabelValues(name) }

// NotificationFailed counts one notification the notifier did not get.
func (m *Metrics) NotificationFailed(name string) { m.notifyFailed.WithLabelValues(name).Inc() }
