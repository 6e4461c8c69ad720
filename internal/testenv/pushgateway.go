package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Pushgateway is a real Prometheus Pushgateway (Debian's prometheus-pushgateway) that
// one-shot runs push their metrics to.
type Pushgateway struct {
	URL string // http://127.0.0.1:port

	t    testing.TB
	proc *Process
}

// PushgatewayBinary is where Debian installs the Pushgateway.
func PushgatewayBinary() string {
	if p := os.Getenv("LIFEBOAT_PUSHGATEWAY_BIN"); p != "" {
		return p
	}
	return "/usr/bin/prometheus-pushgateway"
}

// StartPushgateway starts a Pushgateway on a free port that keeps its metrics in a file
// in a temporary directory (not the package's /var/lib/prometheus).
func StartPushgateway(t testing.TB) *Pushgateway {
	t.Helper()
	return StartPushgatewayOn(t, "127.0.0.1")
}

// StartPushgatewayOn is StartPushgateway listening on host (e.g. the test cluster's node
// address, which pods reach).
func StartPushgatewayOn(t testing.TB, host string) *Pushgateway {
	t.Helper()
	bin := PushgatewayBinary()
	if _, err := os.Stat(bin); err != nil {
		Missing(t, "the Pushgateway is not installed at %s: run scripts/install-servers.sh pushgateway", bin)
	}
	dir := TempDir(t, "pushgateway")
	addr := fmt.Sprintf("%s:%d", host, freePortOn(host))
	g := &Pushgateway{URL: "http://" + addr, t: t}
	g.proc = StartProcess(t, "pushgateway", dir, nil, bin,
		"--web.listen-address="+addr,
		"--persistence.file="+filepath.Join(dir, "pushgateway.data"),
		"--log.level=warn")
	WaitFor(t, g.proc, 30*time.Second, "the Pushgateway to be ready", HTTPStatusOK(http.DefaultClient, g.URL+"/-/ready"))
	return g
}

// Metrics returns what Prometheus would scrape from the gateway, in the text format.
func (g *Pushgateway) Metrics() string {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/metrics", nil)
	if err != nil {
		g.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("scrape the Pushgateway: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		g.t.Fatalf("scrape the Pushgateway: %s %v", resp.Status, err)
	}
	return string(body)
}

// Sample is the value of the series of metric name that has every label in labels (pairs
// of name and value), from a fresh scrape; false when the gateway has no such series.
func (g *Pushgateway) Sample(name string, labels ...string) (float64, bool) {
	g.t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(g.Metrics()))
	if err != nil {
		g.t.Fatalf("parse the Pushgateway's metrics: %v", err)
	}
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.Metric {
		if hasLabels(m, labels) {
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Untyped != nil:
				return m.Untyped.GetValue(), true
			}
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	have := map[string]string{}
	for _, l := range m.Label {
		have[l.GetName()] = l.GetValue()
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if v, ok := have[pairs[i]]; !ok || v != pairs[i+1] {
			return false
		}
	}
	return true
}
