package e2e

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/server"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// A destination that cannot take backups (a file destination whose path is a regular
// file) never hides behind the healthy ones: every run is partial, the status says
// "failing", lifeboat_backup_failures_total counts each run against that destination, and
// the page shows it. It runs against HashiCorp Vault, so serve is driven against both
// servers (TestServe uses OpenBao).
func TestServeFailingDestination(t *testing.T) {
	s := newServeSetupOn(t, testenv.HashiCorp, "0 0 1 1 *") // yearly: only the baseline and triggered runs
	blocker := writeFile(t, filepath.Join(t.TempDir(), "not-a-directory"), "a regular file\n")
	data := readFile(t, s.config)
	broken := "  - name: broken\n    kind: file\n    file: {path: " + blocker + "}\nserver:\n"
	if !strings.Contains(data, "\nserver:\n") {
		t.Fatal("the config has no server block")
	}
	writeFile(t, s.config, strings.Replace(data, "\nserver:\n", "\n"+broken, 1))
	seed(t, s.vault.Client())
	p := s.serve(t)

	checkRun := func(r history.Run) {
		t.Helper()
		if r.Status != "partial" || len(r.Destinations) != 3 {
			t.Fatalf("run with a broken destination: %+v", r)
		}
		for _, d := range r.Destinations {
			if (d.Name == "broken") == d.OK || (d.Name == "broken" && d.Error == "") {
				t.Fatalf("destination %s in run %s: %+v", d.Name, r.ID, d)
			}
		}
	}
	failures := func(dest string) string {
		t.Helper()
		var out string
		s.api(t, "GET", "/metrics", s.token, &out)
		prefix := `lifeboat_backup_failures_total{destination="` + dest + `",source="vault"} `
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, prefix); ok {
				return v
			}
		}
		t.Fatalf("/metrics has no %s:\n%s", prefix, out)
		return ""
	}

	base := s.waitRun(t, p, time.Minute, "the baseline run", func(r history.Run) bool { return r.Trigger == history.TriggerBaseline })
	checkRun(base)
	if got := failures("broken"); got != "1" {
		t.Errorf("failures of broken after the baseline: %s, want 1", got)
	}
	next := s.waitID(t, p, s.trigger(t, p).ID)
	checkRun(next)
	for dest, want := range map[string]string{"broken": "2", "local": "0", "minio": "0"} {
		if got := failures(dest); got != want {
			t.Errorf("failures of %s after two runs: %s, want %s", dest, got, want)
		}
	}

	var st api.StatusResponse
	if code := s.api(t, "GET", "/api/v1/status", s.token, &st); code != 200 || len(st.Sources) != 1 {
		t.Fatalf("status: %d %+v", code, st)
	}
	if v := st.Sources[0]; v.Health != server.HealthFailing || !strings.Contains(v.HealthReason, next.ID+") was partial") {
		t.Fatalf("status with a broken destination: health %q (%s)", v.Health, v.HealthReason)
	}

	req, _ := http.NewRequest("GET", s.base+"/", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`health-failing`, `status-partial`, `broken ✗`, `minio ✓`, `cannot list`, "could not open the destination"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
	p.Stop()
}
