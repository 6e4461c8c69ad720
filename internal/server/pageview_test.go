package server

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/drill"
	"github.com/lifeboat-backup/lifeboat/internal/restore"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// node is a parsed page, searched like a browser's querySelectorAll, so the tests read
// the structure of the page rather than substrings of its text.
type node struct{ *html.Node }

func parsePage(t *testing.T, body string) node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return node{doc}
}

func (n node) attr(name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func (n node) hasClass(c string) bool { return slices.Contains(strings.Fields(n.attr("class")), c) }

// all returns the elements under n named tag ("" for any) that have every class and
// attribute (name=value) given.
func (n node) all(tag string, classes []string, attrs ...string) []node {
	var out []node
	var walk func(*html.Node)
	walk = func(h *html.Node) {
		for c := h.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && (tag == "" || c.Data == tag) {
				e, ok := node{c}, true
				for _, cl := range classes {
					ok = ok && e.hasClass(cl)
				}
				for i := 0; i+1 < len(attrs); i += 2 {
					ok = ok && e.attr(attrs[i]) == attrs[i+1]
				}
				if ok {
					out = append(out, e)
				}
			}
			walk(c)
		}
	}
	walk(n.Node)
	return out
}

func (n node) one(t *testing.T, tag string, classes []string, attrs ...string) node {
	t.Helper()
	found := n.all(tag, classes, attrs...)
	if len(found) != 1 {
		t.Fatalf("%d <%s class=%v %v>, want 1 in:\n%s", len(found), tag, classes, attrs, n.html())
	}
	return found[0]
}

func (n node) text() string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(h *html.Node) {
		switch h.Type {
		case html.TextNode:
			b.WriteString(h.Data)
		case html.ElementNode: // cells and blocks read apart, as on screen
			b.WriteString(" ")
		}
		for c := h.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n.Node)
	return strings.Join(strings.Fields(b.String()), " ")
}

func (n node) html() string {
	var b bytes.Buffer
	_ = html.Render(&b, n.Node)
	return b.String()
}

func cls(c ...string) []string { return c }

// The page's overview, latest drill with its checks, and trend chart, for a source with
// a scheduled drill and several runs, and for one with neither.
func TestPageShowsDrillAndTrend(t *testing.T) {
	var drills atomic.Int32
	longDetail := "pg_restore: error: could not execute query: ERROR: relation \"argo_workflows\" already exists\nCommand was: CREATE TABLE public.argo_workflows (...)"
	e := newEnv(t, "server: {token: {file: TOKEN}, openReadOnly: true}", func(o *Options) {
		o.Baseline = false
		o.Drill = func(_ context.Context, src string) (*drill.Report, error) {
			drills.Add(1)
			return &drill.Report{Report: &restore.Report{
				Source: src, BackupID: "workflows-20261123T103000Z-abcd", Destination: "local",
				Started: o.Clock.Now().Add(-90 * time.Second), Duration: 90 * time.Second,
				Checks: []source.Check{
					{Name: "table public.argo_archived_workflows", OK: true, Detail: "3000 rows"},
					{Name: "schema step", OK: false, Detail: longDetail},
				},
				Err: errors.New("1 check failed: schema step"),
			}}, nil
		}
	})
	e.cfg.Sources[1].Drill = &config.Drill{Schedule: "0 3 * * *"}
	e.cfg.Sources[0].Schedule = "" // vault stays without runs: the empty chart below
	e.start()
	var ids []string
	for range 3 {
		ids = append(ids, e.wait(e.trigger("workflows").ID).ID)
		e.clock.Advance(time.Minute) // distinct ids and chart positions
	}
	e.clock.BlockUntil(t, 2) // the drill tick, the refresher
	e.clock.Advance(17 * time.Hour)
	waitFor(t, func() bool { _, ok := e.srv.lastDrills.get("workflows"); return ok })

	resp, body := e.get("/")
	if resp.StatusCode != 200 {
		t.Fatalf("page: %s\n%s", resp.Status, body)
	}
	page := parsePage(t, body)
	if d := os.Getenv("DUMP_PAGE"); d != "" {
		_ = os.WriteFile(d, []byte(body), 0o644)
	}

	// The overview comes first: one row per source.
	overview := page.one(t, "table", cls("overview"))
	if rows := overview.all("tr", cls("overview-row")); len(rows) != 2 || rows[0].attr("data-source") != "vault" {
		t.Fatalf("overview rows: %s", overview.html())
	}
	wf := overview.one(t, "tr", cls("overview-row"), "data-source", "workflows")
	if got := wf.one(t, "td", cls("drill-summary")).text(); got != "failed 0s ago" {
		t.Errorf("workflows' last drill in the overview: %q", got)
	}
	if got := overview.one(t, "tr", cls("overview-row"), "data-source", "vault").one(t, "td", cls("drill-summary")).text(); got != "no drill configured" {
		t.Errorf("vault's last drill in the overview: %q", got)
	}
	if wf.attr("data-health") != HealthOK || wf.attr("data-late") != "false" {
		t.Errorf("workflows in the overview: health %s late %s", wf.attr("data-health"), wf.attr("data-late"))
	}

	// The latest drill, with each check.
	section := page.one(t, "section", nil, "id", "source-workflows")
	dr := section.one(t, "section", cls("drill"))
	result := dr.one(t, "p", cls("drill-result"))
	if result.attr("data-ok") != "false" || !strings.Contains(result.text(), "workflows-20261123T103000Z-abcd from local") || !strings.Contains(result.text(), "took 1m30s") {
		t.Errorf("drill result: %q", result.text())
	}
	checks := dr.all("tr", cls("check"))
	if len(checks) != 2 {
		t.Fatalf("checks: %s", dr.html())
	}
	if c := checks[0].text(); checks[0].attr("data-ok") != "true" || c != "table public.argo_archived_workflows passed 3000 rows" {
		t.Errorf("first check: %q", c)
	}
	// A multi-line detail is folded: its first line is the summary, the whole of it below.
	details := checks[1].one(t, "details", cls("folded"))
	if checks[1].attr("data-ok") != "false" || details.one(t, "summary", nil).text() != `pg_restore: error: could not execute query: ERROR: relation "argo_workflows" already exists` ||
		!strings.Contains(details.one(t, "pre", nil).text(), "Command was") {
		t.Errorf("failed check: %s", checks[1].html())
	}

	// The chart has one run group per finished run, and an accessible name.
	svg := section.one(t, "svg", cls("trend"))
	var got []string
	for _, g := range svg.all("g", cls("run")) {
		got = append(got, g.attr("data-run"))
	}
	slices.Sort(got)
	if !slices.Equal(got, ids) || svg.attr("role") != "img" || !strings.Contains(svg.attr("aria-label"), "Backups of workflows: 3 runs") {
		t.Errorf("chart runs %v, want %v; aria-label %q", got, ids, svg.attr("aria-label"))
	}
	if len(svg.all("title", nil)) != 4 {
		t.Errorf("chart titles: %s", svg.html())
	}

	// vault: no runs and no drill configured.
	vault := page.one(t, "section", nil, "id", "source-vault")
	if txt := vault.one(t, "svg", cls("trend")).text(); !strings.Contains(txt, "no finished runs recorded yet") {
		t.Errorf("empty chart: %q", txt)
	}
	if txt := vault.one(t, "section", cls("drill")).text(); !strings.Contains(txt, "No drill configured") {
		t.Errorf("vault drill section: %q", txt)
	}
}

// A drill this server did not run (a `lifeboat drill` job) shows from the manifest's
// record when it is newer than the server's own; the server's own, with its checks,
// when it is the newest.
func TestLatestDrillSource(t *testing.T) {
	e := newEnv(t, "", func(o *Options) { o.Baseline = false })
	e.start()
	run := e.wait(e.trigger("workflows").ID)
	if d := e.srv.latestDrill(context.Background(), "workflows"); d != nil {
		t.Fatalf("a drill before any ran: %+v", d)
	}

	own := &drill.Report{Report: &restore.Report{Source: "workflows", BackupID: run.ID, Destination: "local",
		Started: start.Add(time.Minute), Duration: time.Minute, Checks: []source.Check{{Name: "c", OK: true}}}}
	e.srv.lastDrills.set("workflows", drillFromReport(own))
	record := func(r *drill.Report) {
		t.Helper()
		d, err := e.app.Destination("second", false)
		if err != nil {
			t.Fatal(err)
		}
		backups, _, err := catalog.List(context.Background(), d.Store, "workflows")
		if err != nil || len(backups) != 1 {
			t.Fatalf("list: %v %v", backups, err)
		}
		if err := drill.Record(context.Background(), app.Located{Dest: d, Manifest: backups[0].Manifest}, r); err != nil {
			t.Fatal(err)
		}
		e.srv.refresh(context.Background(), "workflows")
	}
	// The server's own drill, also in the manifest (as drill.Run records it): the report wins.
	record(own)
	if d := e.srv.latestDrill(context.Background(), "workflows"); d == nil || d.FromManifest || len(d.Checks) != 1 {
		t.Fatalf("own drill: %+v", d)
	}
	// A newer drill by a CronJob.
	record(&drill.Report{Report: &restore.Report{Source: "workflows", BackupID: run.ID, Started: start.Add(time.Hour), Duration: time.Minute,
		Err: errors.New("table public.t has 1 rows, the backup recorded 2")}})
	d := e.srv.latestDrill(context.Background(), "workflows")
	if d == nil || !d.FromManifest || d.OK || d.Destination != "second" || !strings.Contains(d.Error, "has 1 rows") || !d.At.Equal(start.Add(time.Hour+time.Minute)) {
		t.Fatalf("newer drill from the manifest: %+v", d)
	}
}

// A scheduled drill that cannot start (no backup yet, a bad drill block) is a failed
// drill on the page, with why.
func TestDrillNotStartedShows(t *testing.T) {
	e := newEnv(t, "server: {token: {file: TOKEN}, openReadOnly: true}", func(o *Options) {
		o.Baseline = false
		o.Drill = func(context.Context, string) (*drill.Report, error) {
			return nil, errors.New("no backup of workflows in any destination")
		}
	})
	e.cfg.Sources[1].Drill = &config.Drill{Schedule: "0 3 * * *"}
	e.start()
	e.clock.BlockUntil(t, 3)
	e.clock.Advance(17 * time.Hour)
	waitFor(t, func() bool { _, ok := e.srv.lastDrills.get("workflows"); return ok })
	_, body := e.get("/")
	dr := parsePage(t, body).one(t, "section", nil, "id", "source-workflows").one(t, "section", cls("drill"))
	if dr.one(t, "p", cls("drill-result")).attr("data-ok") != "false" ||
		dr.one(t, "div", cls("err")).text() != "the drill could not start: no backup of workflows in any destination" {
		t.Fatalf("drill that did not start: %s", dr.html())
	}
}

func TestLate(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		name string
		st   api.SourceStatus
		want bool
	}{
		{"no schedule", api.SourceStatus{Health: HealthOK, RPOAgeSeconds: f(1e9)}, false},
		{"within", api.SourceStatus{Health: HealthOK, StaleAfterSeconds: 7200, RPOAgeSeconds: f(7000)}, false},
		{"past the limit, health worse", api.SourceStatus{Health: HealthFailing, StaleAfterSeconds: 7200, RPOAgeSeconds: f(7201)}, true},
		{"stale by a lagging destination", api.SourceStatus{Health: HealthStale, StaleAfterSeconds: 7200, RPOAgeSeconds: f(60)}, true},
		{"no backup", api.SourceStatus{Health: HealthNever, StaleAfterSeconds: 7200}, false},
	} {
		if got := late(c.st); got != c.want {
			t.Errorf("%s: late = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFold(t *testing.T) {
	long := strings.Repeat("x", foldAt+1)
	for _, c := range []struct {
		in      string
		summary string
		folded  bool
	}{
		{"", "", false},
		{"short error", "short error", false},
		{"  padded \n", "padded", false},
		{"first line\nsecond line", "first line", true},
		{long, strings.Repeat("x", foldAt-40) + "…", true},
		{strings.Repeat("é", foldAt), strings.Repeat("é", foldAt), false}, // runes, not bytes
	} {
		got := fold(c.in)
		if got.Summary != c.summary || got.Folded != c.folded || got.Full != strings.TrimSpace(c.in) {
			t.Errorf("fold(%.20q) = %+v, want summary %.20q folded %v", c.in, got, c.summary, c.folded)
		}
	}
}

func TestRoughDuration(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{1500 * time.Microsecond, "2ms"},
		{1500 * time.Millisecond, "1.5s"},
		{10 * time.Minute, "10m"},
		{10*time.Minute + 5*time.Second, "10m5s"},
		{time.Hour, "1h"},
		{2 * time.Hour, "2h"},
		{10 * time.Hour, "10h"},
		{90 * time.Minute, "1h30m"},
		{70 * time.Minute, "1h10m"},
		{72 * time.Hour, "3.0d"},
	} {
		if got := roughDuration(c.in); got != c.want {
			t.Errorf("roughDuration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
