package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Push sends the metrics of a one-shot run to a Pushgateway under job "lifeboat",
// grouped by source. It uses POST (push.Add), which replaces only the metric names this
// push carries: after a failed run the gateway keeps the source's earlier
// lifeboat_backup_last_success_timestamp_seconds, which is what a staleness alert needs.
// Counters pushed this way hold the last run's counts; the Pushgateway does not add them.
// The source label moves into the grouping key (the push client refuses a metric that
// carries a grouping label itself); Prometheus scraping the gateway with honor_labels
// sees the same series as from `lifeboat serve`.
func (m *Metrics) Push(ctx context.Context, url, source string) error {
	if err := CheckPushURL(url); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := push.New(url, "lifeboat").
		Gatherer(withoutLabel(m.Registry, "source")).
		Grouping("source", source).
		Client(&http.Client{}).
		Format(expfmt.NewFormat(expfmt.TypeTextPlain)).
		AddContext(ctx)
	if err != nil {
		return fmt.Errorf("push metrics to the Pushgateway at %s: %w; check --pushgateway (or the config's pushgateway)", url, err)
	}
	return nil
}

// CheckPushURL accepts an http(s) Pushgateway URL without credentials. A user:password@
// in the URL would be a secret on the command line or in the config (and Go's HTTP client
// would send it); the error names the URL with the user-info left out.
func CheckPushURL(raw string) error {
	u, err := neturl.Parse(raw)
	if err != nil {
		// url.Parse's error repeats the whole input, credentials included.
		return errors.New("the Pushgateway URL is not a valid URL; check --pushgateway (or the config's pushgateway)")
	}
	if u.User != nil {
		u.User = nil
		return fmt.Errorf("the Pushgateway URL %s has user-info (user:password@) in it, which lifeboat refuses: "+
			"credentials must not come from a flag or the config; remove it from --pushgateway (or the config's pushgateway)", u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the Pushgateway URL %q must be http:// or https:// with a host, like "+
			"http://pushgateway.monitoring:9091; check --pushgateway (or the config's pushgateway)", raw)
	}
	return nil
}

// withoutLabel gathers g and drops one label from every metric.
func withoutLabel(g prometheus.Gatherer, name string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		fams, err := g.Gather()
		for _, f := range fams {
			for _, m := range f.Metric {
				var kept []*dto.LabelPair
				for _, l := range m.Label {
					if l.GetName() != name {
						kept = append(kept, l)
					}
				}
				m.Label = kept
			}
		}
		return fams, err
	})
}
