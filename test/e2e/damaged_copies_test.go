package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Damaged copies are never hidden. One backup in three destinations: its data object is
// cut short in one directory (the listing sees the size differ from the manifest) and
// has one byte flipped in MinIO (only a full read sees it). verify names both and exits
// 2, status shows the damaged copy and fails, list warns, and serve exports it in
// lifeboat_backup_copies_damaged, the API and the page.
func TestDamagedCopiesAreReported(t *testing.T) {
	s := newServeSetup(t, "")
	spare := filepath.Join(s.dir, "spare")
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.config, strings.Replace(string(data), "destinations:\n",
		fmt.Sprintf("destinations:\n  - name: spare\n    kind: file\n    file: {path: %s}\n", spare), 1))
	seed(t, s.vault.Client())
	s.lifeboat(t, 0, "backup", "vault")
	id := listBackups(t, s.vaultSetup)["local"][0].ID

	truncated := filepath.Join(s.localDir, "vault", id, "data.snap")
	info, err := os.Stat(truncated)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(truncated, info.Size()/2); err != nil {
		t.Fatal(err)
	}
	damageMinIO(t, s.vaultSetup, id)

	r := s.lifeboat(t, 2, "verify", "latest")
	for _, want := range []string{
		id + " in local: DAMAGED: invalid manifest: data object vault/" + id + "/data.snap is " + fmt.Sprint(info.Size()/2) +
			" bytes but the manifest records " + fmt.Sprint(info.Size()) + ": it was truncated or replaced",
		id + " in minio: FAILED: ",
		id + " in spare: OK",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify latest lacks %q:\n%s", want, r)
		}
	}
	if !strings.Contains(r.stdout, "sha256") {
		t.Errorf("verify latest does not say the MinIO copy's sha256 differs:\n%s", r)
	}

	r = s.lifeboat(t, 1, "status")
	for _, want := range []string{"vault (vault): failing — 1 damaged copy in destination local", id + " in local: DAMAGED: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r)
		}
	}
	r = s.lifeboat(t, 0, "list", "vault")
	if !strings.Contains(r.stderr, "unusable backup "+id+" in local: DAMAGED: ") {
		t.Errorf("list does not warn about the damaged copy:\n%s", r)
	}

	p := s.serve(t)
	series := `lifeboat_backup_copies_damaged{destination="local",source="vault"} 1`
	var metrics string
	testenv.WaitFor(t, p, 30*time.Second, "the damaged-copies gauge", func(context.Context) error {
		metrics = ""
		s.api(t, "GET", "/metrics", s.token, &metrics)
		if !strings.Contains(metrics, series) {
			return fmt.Errorf("/metrics has no %s", series)
		}
		return nil
	})
	if !strings.Contains(metrics, `lifeboat_backup_copies_damaged{destination="spare",source="vault"} 0`) {
		t.Errorf("/metrics lacks the spare destination's zero:\n%s", metrics)
	}
	var st api.StatusResponse
	s.api(t, "GET", "/api/v1/status", s.token, &st)
	var damaged []string
	for _, d := range st.Sources[0].Destinations {
		for _, c := range d.Damaged {
			damaged = append(damaged, c.ID+"@"+c.Destination)
		}
	}
	if len(damaged) != 1 || damaged[0] != id+"@local" || st.Sources[0].Health != "failing" {
		t.Errorf("status over the API: health %s, damaged %v", st.Sources[0].Health, damaged)
	}
	var page string
	s.api(t, "GET", "/", s.token, &page)
	if !strings.Contains(page, "Damaged copies in local") || !strings.Contains(page, id) {
		t.Errorf("the page does not show the damaged copy:\n%s", page)
	}
}
