package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// browsePage drives the "Backup & Restore" page as an operator would: sign in with the
// token, see the latest backup, enter the token and click "Back up now", and watch the
// new run appear and finish (the page reloads itself while a run is going; no
// JavaScript involved).
func browsePage(t *testing.T, s *serveSetup, p *testenv.Process) {
	t.Helper()
	ctx := testenv.Browser(t)
	shot := func(name string) { testenv.Screenshot(t, ctx, name) }
	text := func(sel string) string {
		t.Helper()
		var v string
		var err error
		// A page following its run reloads itself every few seconds; a read that lands
		// on the reload finds its node gone. Read again from the new page.
		for attempt := 0; attempt < 5; attempt++ {
			if v, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel))); err == nil {
				return strings.TrimSpace(v)
			}
			time.Sleep(300 * time.Millisecond)
		}
		shot("error")
		t.Fatalf("read %s on the page: %v", sel, err)
		return ""
	}

	err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS("form.login")))
	if err != nil {
		t.Fatalf("load the page: %v", err)
	}
	if login := text("form.login"); !strings.Contains(login, "token") {
		t.Fatalf("login form: %q", login)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`form.login input[name="token"]`), s.token),
		chromedp.Click(chromedp.CSS(`form.login button`)),
		chromedp.WaitVisible(chromedp.CSS(`#source-vault`)),
	)
	if err != nil {
		shot("login")
		t.Fatalf("sign in on the page: %v", err)
	}
	// The page shows the newest backup the API knows (again, if a scheduled run ended in
	// between).
	for attempt := 0; ; attempt++ {
		var st api.StatusResponse
		s.api(t, "GET", "/api/v1/status", s.token, &st)
		newest := st.Sources[0].LatestBackup.ID
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/")); err != nil {
			t.Fatal(err)
		}
		latest, health := text(`#source-vault dd.latest`), text(`#source-vault .health`)
		if strings.Contains(latest, newest) && health == "ok" {
			break
		}
		if attempt == 2 {
			shot("page")
			t.Fatalf("the page shows latest %q, health %q; want %s, ok", latest, health, newest)
		}
	}
	shot("page")

	// An every-minute schedule on two sources keeps the vault source busy a good part of
	// the time, and a busy page reloads itself: retry for a while rather than a fixed
	// number of times.
	var id string
	clickBy := time.Now().Add(2 * time.Minute)
	for attempt := 0; id == "" && time.Now().Before(clickBy); attempt++ {
		err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`#source-vault form.trigger input[name="token"]`), s.token),
			chromedp.Click(chromedp.CSS(`#source-vault form.trigger button`)),
			chromedp.WaitVisible(chromedp.CSS(`#source-vault`)),
		)
		if err != nil && time.Now().Before(clickBy) {
			// While a scheduled run is going the page reloads itself every few seconds,
			// and a reload between typing and clicking replaces the form: start over.
			t.Logf("click Back up now (attempt %d): %v; reloading", attempt+1, err)
			_ = chromedp.Do(ctx, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS(`#source-vault`)))
			continue
		}
		if err != nil {
			shot("backup-now")
			t.Fatalf("click Back up now: %v", err)
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(loc)
		id = u.Query().Get("started")
		if busy := u.Query().Get("busy"); busy != "" { // a scheduled run got there first
			t.Logf("click Back up now (attempt %d): run %s was going; waiting for it", attempt+1, busy)
			s.waitID(t, p, busy)
			_ = chromedp.Do(ctx, chromedp.Navigate(s.base+"/"))
		}
	}
	if id == "" {
		t.Fatal("Back up now never started a run")
	}
	if flash := text(".flash"); !strings.Contains(flash, id) {
		t.Fatalf("flash after Back up now: %q", flash)
	}
	// The new run is in the history table and turns ok by itself (the page follows the run it started).
	row := `tr[data-run="` + id + `"] td.status`
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row)))
		if err == nil && strings.TrimSpace(status) == "ok" {
			break
		}
		if time.Now().After(deadline) {
			shot("run")
			t.Fatalf("run %s on the page: status %q, err %v", id, status, err)
		}
		time.Sleep(time.Second)
	}
	// The page now shows this run's backup as the latest, or (when a scheduled run ended
	// just after, in the same second) a newer one: whatever the API calls the newest.
	_, ours, _ := catalog.ParseBackupID(id)
	for attempt := 0; ; attempt++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/")); err != nil {
			t.Fatal(err)
		}
		latest := text(`#source-vault dd.latest`)
		var st api.StatusResponse
		s.api(t, "GET", "/api/v1/status", s.token, &st)
		newest := st.Sources[0].LatestBackup.ID
		_, at, err := catalog.ParseBackupID(newest)
		if err == nil && strings.Contains(latest, newest) && !at.Before(ours) {
			break
		}
		if attempt == 2 {
			shot("final")
			t.Fatalf("after run %s the page shows latest %q (API newest %s)", id, latest, newest)
		}
	}
	shot("final")
}
