package helm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/yaml"

	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/metrics"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// The alerts the chart renders are run by promtool (Prometheus' own rule engine) over the
// series lifeboat really exports — produced by internal/metrics from simulated runs, and,
// in mode cronjob, passed through the Pushgateway's semantics (each run pushes a fresh
// registry with POST, which replaces the metric names it carries) — and must fire exactly
// when backups stop or keep failing, and stay quiet while backups are healthy.

const (
	alertSource = "vault"
	tooOld      = "LifeboatBackupTooOld"
	failing     = "LifeboatBackupFailing"
	damaged     = "LifeboatBackupCopyDamaged"
	suspicious  = "LifeboatBackupSuspicious"
)

// alertDestinations are the simulated source's destinations; the rules select by source
// only, so they need not be the chart's.
var alertDestinations = []string{"s3-primary", "s3-offsite"}

// alertModes are the value sets whose PrometheusRule is tested: the minimal values (vault
// hourly, maxAge 3h, for 10m) in each mode.
var alertModes = map[string][]string{
	"cronjob": {"metrics.prometheusRule.enabled=true", "pushgateway=http://prometheus-pushgateway.monitoring.svc:9091"},
	"agent":   {"mode=agent", "agent.tokenSecretRef.name=lifeboat-api", "metrics.prometheusRule.enabled=true"},
}

// ruleSpec is the PrometheusRule's spec, which is a Prometheus rule file as it stands.
type ruleSpec = struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []struct {
			Alert         string            `json:"alert,omitempty"`
			Record        string            `json:"record,omitempty"`
			Expr          string            `json:"expr"`
			For           string            `json:"for,omitempty"`
			KeepFiringFor string            `json:"keep_firing_for,omitempty"`
			Labels        map[string]string `json:"labels,omitempty"`
			Annotations   map[string]string `json:"annotations,omitempty"`
		} `json:"rules"`
	} `json:"groups"`
}

// renderRules renders the chart with the minimal values and sets, and returns its
// PrometheusRule's spec.
func renderRules(t *testing.T, sets ...string) ruleSpec {
	t.Helper()
	objs := parseObjects(t, render(t, valueSets[0].paths(), sets...))
	for _, o := range objs {
		if o.gvk.Kind != "PrometheusRule" {
			continue
		}
		var pr prometheusRule
		if err := yaml.Unmarshal(o.yaml, &pr); err != nil {
			t.Fatal(err)
		}
		return pr.Spec
	}
	t.Fatalf("no PrometheusRule rendered with %v", sets)
	return ruleSpec{}
}

// simRun is one backup run of alertSource, finishing 30s after it starts.
type simRun struct {
	at     time.Duration // after the start of the test
	failed []string      // destinations that did not commit it
	// damaged are the destinations where the listing after the run finds a damaged copy
	damaged []string
	// suspicious are the destinations whose listing after the run needs an operator
	// (catalog.Attention: a re-initialised cluster's old lineage held, a suspicious newest)
	suspicious []string
}

// check is the set of firing alerts of one name at one time; each entry is the labels
// beyond the rule's own (severity, source), e.g. the destination.
type check struct {
	at     time.Duration
	alert  string
	firing []map[string]string
}

type scenario struct {
	name   string
	until  time.Duration // last scrape
	runs   []simRun
	checks []check
}

// hourly returns runs every hour in [from, to], failing on the destinations given.
func hourly(from, to time.Duration, failed ...string) []simRun {
	var out []simRun
	for at := from; at <= to; at += time.Hour {
		out = append(out, simRun{at: at, failed: failed})
	}
	return out
}

func none(at time.Duration, alert string) check { return check{at: at, alert: alert} }

func fires(at time.Duration, alert string, extra ...map[string]string) check {
	if len(extra) == 0 {
		extra = []map[string]string{{}}
	}
	return check{at: at, alert: alert, firing: extra}
}

func dest(name string) map[string]string { return map[string]string{"destination": name} }

const hr, mi = time.Hour, time.Minute

// scenarios per mode: the same story, with what each mode's rule promises.
func alertScenarios(mode string) []scenario {
	all := []string{"s3-primary", "s3-offsite"}
	sc := []scenario{
		{
			name: "healthy", until: 8 * hr, runs: hourly(0, 8*hr),
			checks: []check{
				none(30*mi, tooOld), none(30*mi, failing),
				none(3*hr+30*mi, tooOld), none(3*hr+30*mi, failing),
				none(7*hr+59*mi, tooOld), none(7*hr+59*mi, failing),
			},
		},
		{
			// Last success 2h00m30s; maxAge 3h is exceeded from 5h00m30s, for 10m.
			name: "backups stop", until: 6 * hr, runs: hourly(0, 2*hr),
			checks: []check{
				none(4*hr+50*mi, tooOld), none(5*hr+5*mi, tooOld),
				fires(5*hr+15*mi, tooOld), fires(6*hr, tooOld),
				none(6*hr, failing),
			},
		},
		{
			name: "no metrics at all", until: 30 * mi,
			checks: []check{none(5*mi, tooOld), fires(15*mi, tooOld)},
		},
		{
			name: "the first run ever fails", until: time.Hour, runs: []simRun{{at: 20 * mi, failed: all}},
			checks: []check{
				none(10*mi, failing),
				fires(35*mi, failing, dest("s3-primary"), dest("s3-offsite")),
			},
		},
	}
	// s3-offsite's copy of the 3h backup is truncated before the 4h run; the 6h run is
	// listed after an operator mirrored a good copy over it.
	broken := hourly(0, 6*hr)
	for i := range broken[4:6] {
		broken[4+i].damaged = []string{"s3-offsite"}
	}
	sc = append(sc, scenario{
		name: "a copy is damaged", until: 7 * hr, runs: broken,
		checks: []check{
			none(3*hr+30*mi, damaged),
			fires(4*hr+2*mi, damaged, dest("s3-offsite")),
			fires(5*hr+30*mi, damaged, dest("s3-offsite")),
			none(6*hr+5*mi, damaged),
			none(5*hr, tooOld), none(5*hr, failing),
		},
	})
	// The cluster is re-initialised before the 3h run: every run from then on commits
	// fine, but the listing shows the old lineage held back, until an operator prunes it
	// with `prune --lineage` after the 5h run.
	reinit := hourly(0, 7*hr)
	for i := range reinit[3:6] {
		reinit[3+i].suspicious = all
	}
	sc = append(sc, scenario{
		name: "the cluster is re-initialised", until: 8 * hr, runs: reinit,
		checks: []check{
			none(2*hr+30*mi, suspicious),
			fires(3*hr+2*mi, suspicious, dest("s3-primary"), dest("s3-offsite")),
			// Not only right after the first run of the new lineage: while the old one is held.
			fires(5*hr+30*mi, suspicious, dest("s3-primary"), dest("s3-offsite")),
			none(6*hr+5*mi, suspicious),
			none(5*hr, tooOld), none(5*hr, failing), none(5*hr, damaged),
		},
	})
	repeated := scenario{
		// s3-offsite refuses every run from 3h on; s3-primary keeps committing.
		name: "one destination keeps failing", until: 8*hr + 10*mi,
		runs: append(append(hourly(0, 2*hr), hourly(3*hr, 7*hr, "s3-offsite")...), simRun{at: 8 * hr}),
		checks: []check{
			none(3*hr+5*mi, failing),
			fires(3*hr+15*mi, failing, dest("s3-offsite")),
			// Right after further failed runs: an increase() over the pushed 0/1 counter is
			// 0 here, which is the bug this test guards against.
			fires(4*hr+5*mi, failing, dest("s3-offsite")),
			fires(5*hr+5*mi, failing, dest("s3-offsite")),
			fires(6*hr+30*mi, failing, dest("s3-offsite")),
			fires(7*hr+5*mi, failing, dest("s3-offsite")),
			// Not committed everywhere since 2h: that is a backup too old as well.
			fires(5*hr+30*mi, tooOld),
		},
	}
	if mode == "cronjob" {
		// The next good run clears it.
		repeated.checks = append(repeated.checks, none(8*hr+5*mi, failing))
	} else {
		// The agent's counter only grows: the alert holds for failureWindow (maxAge, 3h)
		// after the last failure, so it still fires after the good run.
		repeated.until = 10*hr + 30*mi
		repeated.checks = append(repeated.checks, fires(8*hr+5*mi, failing, dest("s3-offsite")), none(10*hr+15*mi, failing))
	}
	return append(sc, repeated)
}

// series are the samples Prometheus stores, per series (in PromQL selector syntax), one
// per scrape minute; nil where the series is not exported.
type series map[string][]*float64

// agentTarget are the labels a ServiceMonitor scrape adds to the agent's series.
var agentTarget = map[string]string{"job": "lifeboat-agent", "instance": "10.244.1.7:8080", "namespace": "lifeboat", "pod": "lifeboat-agent-7d9f-x2x4q"}

// simulate turns a scenario's runs into scraped series, using lifeboat's own metrics code.
func simulate(mode string, sc scenario) series {
	base := time.Unix(0, 0).UTC() // promtool's time() starts at 0
	minutes := int(sc.until / time.Minute)
	out := series{}
	record := func(k int, key string, v float64) {
		if out[key] == nil {
			out[key] = make([]*float64, minutes+1)
		}
		out[key][k] = &v
	}
	stored := map[string]int{}
	newest := map[string]time.Time{}
	observe := func(mt *metrics.Metrics, r simRun) {
		run := history.Run{
			ID: fmt.Sprintf("%s-%d", alertSource, r.at/time.Minute), Source: alertSource, Trigger: history.TriggerCLI,
			Started: base.Add(r.at), Finished: base.Add(r.at + 30*time.Second),
		}
		committed := 0
		for _, d := range alertDestinations {
			ok := !slices.Contains(r.failed, d)
			hd := history.Destination{Name: d, OK: ok}
			if ok {
				committed++
				stored[d]++
				newest[d] = run.Finished
			} else {
				hd.Error = "simulated: connection refused"
			}
			run.Destinations = append(run.Destinations, hd)
		}
		switch committed {
		case len(alertDestinations):
			run.Status = "ok"
		case 0:
			run.Status = "failed"
		default:
			run.Status = "partial"
		}
		if committed > 0 {
			run.Size, run.SHA256 = 4096, "ab"
		}
		mt.Observe(run)
		// What the listing after a run reports (cmd/lifeboat/pushgateway.go, server refresh).
		for _, d := range alertDestinations {
			mt.SetStored(alertSource, d, stored[d], newest[d])
			n := 0
			if slices.Contains(r.damaged, d) {
				n = 1
			}
			mt.SetDamaged(alertSource, d, n)
			mt.SetSuspicious(alertSource, d, slices.Contains(r.suspicious, d))
		}
	}

	var agent *metrics.Metrics
	if mode == "agent" {
		agent = metrics.New()
		agent.Init(alertSource, alertDestinations)
	}
	// The Pushgateway's group job="lifeboat", source=<source>: metric name -> series -> value.
	gateway := map[string]map[string]float64{}
	next := 0
	for k := 0; k <= minutes; k++ {
		now := time.Duration(k) * time.Minute
		for next < len(sc.runs) && sc.runs[next].at+30*time.Second <= now {
			if agent != nil {
				observe(agent, sc.runs[next])
			} else {
				mt := metrics.New()
				mt.Init(alertSource, alertDestinations)
				observe(mt, sc.runs[next])
				// POST replaces the pushed names only; what a run does not carry (the last
				// success after a failed run) stays from earlier pushes.
				for name, s := range gathered(mt, map[string]string{"job": "lifeboat"}) {
					gateway[name] = s
				}
			}
			next++
		}
		if agent != nil {
			for _, s := range gathered(agent, agentTarget) {
				for key, v := range s {
					record(k, key, v)
				}
			}
		}
		for _, s := range gateway {
			for key, v := range s {
				record(k, key, v)
			}
		}
	}
	return out
}

// gathered returns mt's series by metric name, each with the extra labels added.
func gathered(mt *metrics.Metrics, extra map[string]string) map[string]map[string]float64 {
	fams, err := mt.Registry.Gather()
	if err != nil {
		panic(err)
	}
	out := map[string]map[string]float64{}
	for _, f := range fams {
		s := map[string]float64{}
		for _, mm := range f.GetMetric() {
			labels := map[string]string{}
			for k, v := range extra {
				labels[k] = v
			}
			for _, l := range mm.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			s[selector(f.GetName(), labels)] = value(f.GetType(), mm)
		}
		out[f.GetName()] = s
	}
	return out
}

func value(typ dto.MetricType, mm *dto.Metric) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return mm.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return mm.GetGauge().GetValue()
	}
	panic(fmt.Sprintf("metric type %s is not simulated", typ))
}

func selector(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// promtool's unit test file format.
type (
	ruleTestFile struct {
		RuleFiles          []string    `json:"rule_files"`
		EvaluationInterval string      `json:"evaluation_interval"`
		Tests              []ruleTests `json:"tests"`
	}
	ruleTests struct {
		Interval    string          `json:"interval"`
		InputSeries []inputSeries   `json:"input_series"`
		AlertTests  []alertRuleTest `json:"alert_rule_test"`
	}
	inputSeries struct {
		Series string `json:"series"`
		Values string `json:"values"`
	}
	alertRuleTest struct {
		EvalTime  string     `json:"eval_time"`
		Alertname string     `json:"alertname"`
		ExpAlerts []expAlert `json:"exp_alerts"`
	}
	expAlert struct {
		ExpLabels      map[string]string `json:"exp_labels"`
		ExpAnnotations map[string]string `json:"exp_annotations"`
	}
)

func promDuration(d time.Duration) string { return strconv.Itoa(int(d/time.Minute)) + "m" }

// promtoolTests builds the test group of one scenario against rules.
func promtoolTests(t *testing.T, mode string, rules ruleSpec, sc scenario) ruleTests {
	t.Helper()
	rule := func(alert string) (map[string]string, map[string]string) {
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				if r.Alert == alert && r.Labels["source"] == alertSource {
					return r.Labels, r.Annotations
				}
			}
		}
		t.Fatalf("no %s rule for source %s rendered", alert, alertSource)
		return nil, nil
	}
	tg := ruleTests{Interval: "1m"}
	keys := []string{}
	ser := simulate(mode, sc)
	for k := range ser {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var vals []string
		seen := false
		for _, v := range ser[k] {
			switch {
			case v != nil:
				seen = true
				vals = append(vals, strconv.FormatFloat(*v, 'f', -1, 64))
			case seen:
				vals = append(vals, "stale") // a scrape that no longer has it
			default:
				vals = append(vals, "_")
			}
		}
		tg.InputSeries = append(tg.InputSeries, inputSeries{Series: k, Values: strings.Join(vals, " ")})
	}
	for _, c := range sc.checks {
		labels, annotations := rule(c.alert)
		at := alertRuleTest{EvalTime: promDuration(c.at), Alertname: c.alert, ExpAlerts: []expAlert{}}
		for _, extra := range c.firing {
			e := expAlert{ExpLabels: map[string]string{}, ExpAnnotations: map[string]string{}}
			for k, v := range labels {
				e.ExpLabels[k] = v
			}
			for k, v := range extra {
				e.ExpLabels[k] = v
			}
			for k, v := range annotations {
				e.ExpAnnotations[k] = strings.ReplaceAll(v, "{{ $labels.destination }}", extra["destination"])
			}
			at.ExpAlerts = append(at.ExpAlerts, e)
		}
		tg.AlertTests = append(tg.AlertTests, at)
	}
	return tg
}

// runPromtool writes the rules and the scenarios' tests and runs promtool test rules.
func runPromtool(t *testing.T, promtool, mode string, rules ruleSpec, scs []scenario) (string, error) {
	t.Helper()
	dir := t.TempDir()
	rulesYAML, err := yaml.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rulesYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	tf := ruleTestFile{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: "1m"}
	for _, sc := range scs {
		tf.Tests = append(tf.Tests, promtoolTests(t, mode, rules, sc))
	}
	testsYAML, err := yaml.Marshal(tf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tests.yaml"), testsYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "test", "rules", "tests.yaml")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

func TestAlertsFire(t *testing.T) {
	helmBin(t)
	promtool := testenv.Binary(t, "promtool")
	for _, mode := range []string{"cronjob", "agent"} {
		t.Run(mode, func(t *testing.T) {
			rules := renderRules(t, alertModes[mode]...)
			for _, sc := range alertScenarios(mode) {
				t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
					out, err := runPromtool(t, promtool, mode, rules, []scenario{sc})
					if err != nil {
						t.Fatalf("promtool test rules: %v\n%s", err, out)
					}
				})
			}
		})
	}
	// The scenarios can tell a broken rule: the counter-increase rule that was used in
	// mode cronjob before stops firing while pushed runs keep failing.
	t.Run("old-cronjob-rule-fails", func(t *testing.T) {
		rules := renderRules(t, alertModes["cronjob"]...)
		replaced := false
		for gi := range rules.Groups {
			for ri, r := range rules.Groups[gi].Rules {
				if r.Alert == failing {
					rules.Groups[gi].Rules[ri].Expr = fmt.Sprintf(`sum by (source, destination) (increase(lifeboat_backup_failures_total{source=%q}[1h])) > 0`, alertSource)
					replaced = true
				}
			}
		}
		if !replaced {
			t.Fatalf("no %s rule", failing)
		}
		var repeated []scenario
		for _, sc := range alertScenarios("cronjob") {
			if sc.name == "one destination keeps failing" {
				repeated = append(repeated, sc)
			}
		}
		out, err := runPromtool(t, promtool, "cronjob", rules, repeated)
		if err == nil {
			t.Fatalf("promtool passed the increase() rule on pushed counters; the scenario cannot tell a broken rule:\n%s", out)
		}
		t.Logf("the old rule fails as expected:\n%s", out)
	})
}

var (
	metricNameRE = regexp.MustCompile(`\blifeboat_[a-z0-9_]+`)
	matcherRE    = regexp.MustCompile(`\b(lifeboat_[a-z0-9_]+)\{([^}]*)\}`)
	byRE         = regexp.MustCompile(`\bby \(([^)]*)\)`)
)

// Every metric the rendered rules name is one lifeboat exports, with the labels the rules
// select and aggregate by: renaming a metric or a label in internal/metrics breaks here,
// not silently in production.
func TestAlertMetricsExist(t *testing.T) {
	helmBin(t)
	exported := exportedLabels()
	drills := []string{"vault.drill.enabled=true", "vault.drill.unsealKeysSecretRef.name=vault-unseal-keys", "vault.drill.tokenSecretRef.name=vault-drill"}
	found := 0
	for mode, sets := range alertModes {
		rules := renderRules(t, append(slices.Clone(sets), drills...)...)
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				names := metricNameRE.FindAllString(r.Expr, -1)
				if len(names) == 0 {
					t.Errorf("%s %s: no lifeboat metric in %q", mode, r.Alert, r.Expr)
				}
				for _, n := range names {
					found++
					if _, ok := exported[n]; !ok {
						t.Errorf("%s %s: %s is not a metric internal/metrics exports (%v)", mode, r.Alert, n, keysOf(exported))
					}
				}
				for _, mt := range matcherRE.FindAllStringSubmatch(r.Expr, -1) {
					for _, matcher := range strings.Split(mt[2], ",") {
						label, _, _ := strings.Cut(strings.TrimSpace(matcher), "=")
						if label != "" && !slices.Contains(exported[mt[1]], label) {
							t.Errorf("%s %s: %s has no label %q (labels %v)", mode, r.Alert, mt[1], label, exported[mt[1]])
						}
					}
				}
				for _, by := range byRE.FindAllStringSubmatch(r.Expr, -1) {
					for _, label := range strings.Split(by[1], ",") {
						label = strings.TrimSpace(label)
						if !slices.ContainsFunc(names, func(n string) bool { return slices.Contains(exported[n], label) }) {
							t.Errorf("%s %s: aggregates by %q, which none of %v carries", mode, r.Alert, label, names)
						}
					}
				}
			}
		}
	}
	if found < 6 {
		t.Fatalf("found only %d metric references in the rules; the check is not looking at them", found)
	}
}

// exportedLabels is every metric internal/metrics exports, with its label names, after
// each kind of observation has been made once.
func exportedLabels() map[string][]string {
	mt := metrics.New()
	mt.Init(alertSource, alertDestinations)
	mt.InitDrill(alertSource)
	now := time.Unix(1_800_000_000, 0).UTC()
	mt.Observe(history.Run{
		ID: "vault-x", Source: alertSource, Status: "ok", Started: now.Add(-time.Minute), Finished: now,
		Size: 1, SHA256: "ab", Destinations: []history.Destination{{Name: "s3-primary", OK: true}},
	})
	mt.SetStored(alertSource, "s3-primary", 1, now)
	mt.SetDamaged(alertSource, "s3-primary", 0)
	mt.SetSuspicious(alertSource, "s3-primary", false)
	mt.ObserveDrill(alertSource, now, time.Minute, true)
	fams, err := mt.Registry.Gather()
	if err != nil {
		panic(err)
	}
	out := map[string][]string{}
	for _, f := range fams {
		var labels []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		out[f.GetName()] = labels
	}
	return out
}

func keysOf(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
