package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// The "Backup & Restore" page of a `lifeboat serve` over a real OpenBao, a directory
// and MinIO, after several backups through the API and a scheduled drill into a scratch
// OpenBao, read in headless Chromium through the DOM: the overview row, the latest drill
// with every check, and the trend chart with one marker group per recorded run, drawn
// and styled under the page's Content-Security-Policy. Screenshots go to
// testenv.ArtifactDir.
func TestServePage(t *testing.T) {
	flavor := testenv.OpenBao
	bin := testenv.Binary(t, string(flavor))
	s := newServeSetupOn(t, flavor, "0 * * * *")
	cfg := strings.Replace(readFile(t, s.config), "    vault:\n", fmt.Sprintf(`    drill:
      schedule: "* * * * *"
      vault:
        binary: %s
        unsealKeys: {file: %s}
        mounts: [secret/, ci-approle/]
        secrets: [secret/data/app/db, secret/data/team/ci]
    vault:
`, bin, s.keysFile), 1)
	writeFile(t, s.config, cfg)
	seed(t, s.vault.Client())
	p := s.serve(t)

	// The baseline run, then three more through the API.
	s.waitRun(t, p, time.Minute, "the baseline run", func(r history.Run) bool {
		return r.Trigger == history.TriggerBaseline && r.Source == "vault"
	})
	for range 3 {
		if r := s.waitID(t, p, s.trigger(t, p).ID); r.Status != "ok" {
			t.Fatalf("API run: %+v", r)
		}
	}

	// A drill at the next minute's tick (a tick before the first backup was committed
	// fails to start; the one after it passes).
	testenv.WaitFor(t, p, 3*time.Minute, "a passing scheduled drill", func(context.Context) error {
		var metrics string
		s.api(t, "GET", "/metrics", s.token, &metrics)
		for _, line := range strings.Split(metrics, "\n") {
			if n, ok := strings.CutPrefix(line, `lifeboat_drill_runs_total{source="vault",status="ok"} `); ok && n != "0" {
				return nil
			}
		}
		return fmt.Errorf("no passing drill yet")
	})

	ctx := testenv.Browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/"),
		chromedp.WaitVisible(chromedp.CSS("form.login")),
		chromedp.SendKeys(chromedp.CSS(`form.login input[name="token"]`), s.token),
		chromedp.Click(chromedp.CSS(`form.login button`)),
		chromedp.WaitVisible(chromedp.CSS(`table.overview`)),
	)
	if err != nil {
		testenv.Screenshot(t, ctx, "login")
		t.Fatalf("sign in on the page: %v", err)
	}
	fail := func(shot, format string, args ...any) {
		t.Helper()
		testenv.Screenshot(t, ctx, shot)
		t.Fatalf(format, args...)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail("error", "read %s: %v", sel, err)
		}
		return strings.Join(strings.Fields(v), " ")
	}
	count := func(sel string) int {
		t.Helper()
		n, err := testenv.Count(ctx, sel)
		if err != nil {
			fail("error", "count %s: %v", sel, err)
		}
		return n
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			fail("error", "evaluate %s: %v", js, err)
		}
		return v
	}

	// The overview: vault is healthy, on time, and its last drill passed.
	row := `table.overview tr.overview-row[data-source="vault"]`
	if n := count(row); n != 1 {
		fail("overview", "%d overview rows for vault", n)
	}
	if h := text(row + ` .health`); h != "ok" {
		fail("overview", "vault's health in the overview: %q", h)
	}
	if age := text(row + ` td.age`); !strings.Contains(age, "old") || !strings.Contains(age, "(late after 2h)") || count(row+` .late`) != 0 ||
		eval(`document.querySelector('`+row+`').dataset.late`) != "false" {
		fail("overview", "vault's newest backup in the overview: %q", age)
	}
	if d := text(row + ` td.drill-summary`); !strings.HasPrefix(d, "passed ") {
		fail("overview", "vault's last drill in the overview: %q", d)
	}
	testenv.Screenshot(t, ctx, "overview")

	// The latest drill and each of its checks.
	drill := `#source-vault section.drill`
	if ok := eval(`document.querySelector("` + drill + ` p.drill-result").dataset.ok`); ok != "true" {
		fail("drill", "drill result data-ok %q: %s", ok, text(drill))
	}
	want := []string{"restore", "mount secret/", "mount ci-approle/", "secret secret/data/app/db", "secret secret/data/team/ci"}
	got := strings.Split(eval(`Array.from(document.querySelectorAll("`+drill+` tr.check")).map(r => r.cells[0].textContent + "=" + r.dataset.ok).join("\n")`), "\n")
	var wantChecks []string
	for _, c := range want {
		wantChecks = append(wantChecks, c+"=true")
	}
	if !slices.Equal(got, wantChecks) {
		fail("drill", "drill checks %q, want %q", got, wantChecks)
	}

	// The chart: one marker group per finished run the history holds, by id, and drawn.
	svg := `#source-vault svg.trend`
	var ids, chartIDs []string
	for attempt := 0; ; attempt++ {
		var runs struct{ Runs []history.Run }
		s.api(t, "GET", "/api/v1/runs?source=vault", s.token, &runs)
		ids = ids[:0]
		for _, r := range runs.Runs {
			if !r.Running() {
				ids = append(ids, r.ID)
			}
		}
		if err := chromedp.Do(ctx, chromedp.Reload()); err != nil { // the page as of that answer
			t.Fatal(err)
		}
		chartIDs = strings.Split(eval(`Array.from(document.querySelectorAll("`+svg+` g.run")).map(g => g.dataset.run).join("\n")`), "\n")
		slices.Sort(ids)
		slices.Sort(chartIDs)
		// A scheduled run may end between the two reads: read both again.
		if slices.Equal(chartIDs, ids) || attempt == 2 {
			break
		}
	}
	if len(ids) < 4 || !slices.Equal(chartIDs, ids) {
		fail("chart", "chart runs %q, history %q", chartIDs, ids)
	}
	if n := count(svg + ` g.run circle.size`); n != len(ids) {
		fail("chart", "%d size markers for %d ok runs", n, len(ids))
	}
	if label := eval(`document.querySelector("` + svg + `").getAttribute("aria-label")`); !strings.HasPrefix(label, fmt.Sprintf("Backups of vault: %d runs; size from ", len(ids))) {
		fail("chart", "chart aria-label %q", label)
	}
	if title := eval(`document.querySelector("` + svg + ` > title").textContent`); !strings.HasPrefix(title, "Backups of vault") {
		fail("chart", "chart title %q", title)
	}
	// Laid out and coloured by the page's own stylesheet: the CSP lets both through.
	if w := eval(`String(document.querySelector("` + svg + `").getBoundingClientRect().width)`); w == "0" {
		fail("chart", "the chart has no width")
	}
	if fill := eval(`getComputedStyle(document.querySelector("` + svg + ` circle.size")).fill`); fill != "rgb(11, 92, 173)" {
		fail("chart", "size marker fill %q: the stylesheet does not reach the chart", fill)
	}
	if ticks := eval(`document.querySelector("` + svg + ` g.panel.size").textContent`); !strings.Contains(ticks, "KiB") && !strings.Contains(ticks, "MiB") {
		fail("chart", "size axis labels %q", ticks)
	}
	testenv.Screenshot(t, ctx, "page")

	p.Stop()
}
