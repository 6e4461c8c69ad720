package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// corrupt flips one byte in the middle of a stored data object.
func corrupt(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVaultDrill(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		bin := testenv.Binary(t, string(flavor))
		s := newVaultSetup(t, flavor, "")
		// The drill block goes inside the vault source.
		keys := s.keysFile
		cfg := strings.Replace(readFile(t, s.config), "    vault:\n", fmt.Sprintf(`    drill:
      vault:
        binary: %s
        unsealKeys: {file: %s}
        mounts: [secret/, ci-approle/]
        secrets: [secret/data/app/db, secret/data/team/ci]
    vault:
`, bin, keys), 1)
		writeFile(t, s.config, cfg)
		seed(t, s.vault.Client())
		s.lifeboat(t, 0, "backup", "vault")

		r := s.lifeboat(t, 0, "drill", "vault")
		for _, want := range []string{"ok     mount secret/", "ok     secret secret/data/app/db", "passed"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("drill output lacks %q:\n%s", want, r)
			}
		}
		// The outcome is a drill record beside the copy that was drilled; the manifest
		// is never rewritten.
		id := listBackups(t, s)["local"][0].ID
		records, _ := filepath.Glob(filepath.Join(s.localDir, "vault", id, "drill-*.json"))
		if len(records) != 1 || !strings.HasSuffix(records[0], "-ok.json") {
			t.Fatalf("drill records: %v", records)
		}
		var rec struct {
			BackupID string `json:"backupID"`
			OK       bool   `json:"ok"`
		}
		if err := json.Unmarshal([]byte(readFile(t, records[0])), &rec); err != nil || rec.BackupID != id || !rec.OK {
			t.Fatalf("drill record: %+v %v", rec, err)
		}
		if strings.Contains(readFile(t, filepath.Join(s.localDir, "vault", id, "manifest.json")), "drills") {
			t.Fatal("the drill was written into the manifest")
		}

		// A secret that is not in the backup fails the drill by name.
		cfg = strings.Replace(readFile(t, s.config), "secret/data/team/ci]", "secret/data/team/ci, secret/data/not/there]", 1)
		writeFile(t, s.config, cfg)
		r = s.lifeboat(t, 1, "drill", "vault", "--no-record")
		if !strings.Contains(r.stdout, "FAILED secret secret/data/not/there") {
			t.Fatalf("missing secret not reported:\n%s", r)
		}

		// A corrupted copy fails the drill loudly; the good copy still passes.
		corrupt(t, filepath.Join(s.localDir, "vault", id, "data.snap"))
		r = s.lifeboat(t, 1, "drill", "vault", "--from", "local", "--no-record")
		if !strings.Contains(r.stdout, "FAILED") {
			t.Fatalf("corrupt drill output:\n%s", r)
		}
	})
}

func TestPostgresDrill(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	s := newPgSetup(t, "", "")
	s.lifeboat(t, 0, "backup", "workflows")
	r := s.lifeboat(t, 0, "drill", "workflows")
	for _, want := range []string{"ok     table public.argo_archived_workflows: 3000 rows", "ok     schema step: 17", "passed"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("drill output lacks %q:\n%s", want, r)
		}
	}
	// The scratch database is gone afterwards, the live one untouched.
	var n int
	conn := s.pg.Connect("postgres")
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = 'lifeboat_drill_workflows'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("scratch database left behind: %d %v", n, err)
	}
	id := listPg(t, s)
	corrupt(t, filepath.Join(s.localDir, "workflows", id, "data.dump.zst"))
	r = s.lifeboat(t, 1, "drill", "workflows", "--from", "local")
	if !strings.Contains(r.stdout, "FAILED") {
		t.Fatalf("corrupt drill output:\n%s", r)
	}
}

func listPg(t *testing.T, s *pgSetup) string {
	t.Helper()
	r := s.lifeboat(t, 0, "list", "workflows", "--destination", "local", "--json")
	var rows []listed
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("list: %v\n%s", err, r)
	}
	return rows[0].ID
}
