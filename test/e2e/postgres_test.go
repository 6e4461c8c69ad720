package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// pgSetup is a real PostgreSQL 15 with an Argo-like database, a MinIO bucket, and a
// lifeboat config backing the database up to a directory and MinIO.
type pgSetup struct {
	pg       *testenv.Postgres
	minio    *testenv.MinIO
	dir      string
	localDir string
	config   string
	env      []string
}

func newPgSetup(t *testing.T, extraSource, extraTop string) *pgSetup {
	t.Helper()
	s := &pgSetup{pg: testenv.StartPostgres(t), minio: testenv.StartMinIO(t), dir: t.TempDir()}
	s.minio.MakeBucket("backups")
	s.pg.CreateArgo("argo", 17, 3000)
	s.localDir = filepath.Join(s.dir, "backups")
	pwFile := writeFile(t, filepath.Join(s.dir, "pg-password"), s.pg.Password+"\n")
	s.env = []string{"TEST_S3_ACCESS_KEY=" + s.minio.AccessKey, "TEST_S3_SECRET_KEY=" + s.minio.SecretKey}
	s.config = writeFile(t, filepath.Join(s.dir, "lifeboat.yaml"), fmt.Sprintf(`
sources:
  - name: workflows
    kind: postgres
    postgres:
      host: %s
      port: %d
      database: argo
      user: %s
      password: {file: %s}
      sslMode: disable
      binDir: %s
      globals: true
%s
destinations:
  - name: local
    kind: file
    file: {path: %s}
  - name: minio
    kind: s3
    prefix: lifeboat
    s3:
      endpoint: %s
      bucket: backups
      pathStyle: true
      insecure: true
      partSizeMiB: 5
      accessKeyID: {env: TEST_S3_ACCESS_KEY}
      secretAccessKey: {env: TEST_S3_SECRET_KEY}
%s`, s.pg.Host, s.pg.Port, s.pg.User, pwFile, s.pg.BinDir, extraSource, s.localDir, s.minio.Endpoint, extraTop))
	return s
}

func (s *pgSetup) lifeboat(t *testing.T, want int, args ...string) run {
	t.Helper()
	return mustRun(t, want, s.env, append([]string{"--config", s.config}, args...)...)
}

func (s *pgSetup) dropArgo(t *testing.T) {
	t.Helper()
	conn := s.pg.Connect("postgres")
	if _, err := conn.Exec(context.Background(), "DROP DATABASE argo WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
}

func sameData(t *testing.T, want, got map[string]string) {
	t.Helper()
	if !maps.Equal(want, got) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s after restore, want %s", k, got[k], v)
			}
		}
		t.Fatalf("restored data differs (%d tables before, %d after)", len(want), len(got))
	}
}

// Argo-like metadata backed up to a directory and MinIO, the database dropped, and
// restored by "latest", by id and from a local dump file, every table identical.
func TestPostgresBackupDropRestore(t *testing.T) {
	s := newPgSetup(t, "", "")
	before := s.pg.Fingerprint("argo")
	if len(before) < 5 {
		t.Fatalf("fixture too small: %v", before)
	}
	r := s.lifeboat(t, 0, "backup", "workflows")
	if strings.Contains(r.stdout, "FAILED") {
		t.Fatalf("backup:\n%s", r)
	}
	r = s.lifeboat(t, 0, "verify", "latest")
	if strings.Count(r.stdout, "OK (") != 2 || !strings.Contains(r.stdout, "TOC entries") {
		t.Fatalf("verify:\n%s", r)
	}
	id := strings.Fields(strings.TrimPrefix(r.stdout, ""))[0]

	s.dropArgo(t)
	r = s.lifeboat(t, 0, "restore", "workflows", "--dump", "latest")
	if !strings.Contains(r.stdout, "row counts match the backup") {
		t.Fatalf("restore did not check row counts:\n%s", r)
	}
	sameData(t, before, s.pg.Fingerprint("argo"))

	// By id from MinIO, over the existing database.
	s.lifeboat(t, 0, "restore", "workflows", "--dump", id, "--from", "minio")
	sameData(t, before, s.pg.Fingerprint("argo"))

	// From the local dump file (its manifest.json beside it is used), into a fresh database.
	s.dropArgo(t)
	file := filepath.Join(s.localDir, "workflows", id, "data.dump.zst")
	s.lifeboat(t, 0, "restore", "workflows", "--dump", file)
	sameData(t, before, s.pg.Fingerprint("argo"))
}

func TestPostgresEncryptedBackupAndGlobals(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	idFile := writeFile(t, filepath.Join(dir, "age.key"), id.String()+"\n")
	s := newPgSetup(t, "", fmt.Sprintf("encryption:\n  age:\n    recipients: [%s]\n    identityFile: %s\n", id.Recipient(), idFile))
	conn := s.pg.Connect("argo")
	if _, err := conn.Exec(context.Background(), "CREATE ROLE argo_reader LOGIN PASSWORD 'pw'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO argo_reader"); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	before := s.pg.Fingerprint("argo")
	s.lifeboat(t, 0, "backup", "workflows")
	// Nothing readable is stored: both the dump and the roles are encrypted.
	err = filepath.Walk(s.localDir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && filepath.Base(path) != "manifest.json" && !strings.HasSuffix(path, ".age") {
			t.Errorf("unencrypted object %s", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.dropArgo(t)
	c := s.pg.Connect("postgres")
	if _, err := c.Exec(context.Background(), "DROP ROLE argo_reader"); err != nil {
		t.Fatal(err)
	}
	s.lifeboat(t, 0, "restore", "workflows", "--dump", "latest", "--globals")
	sameData(t, before, s.pg.Fingerprint("argo"))
	var n int
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM pg_roles WHERE rolname = 'argo_reader'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("role argo_reader not restored: %d %v", n, err)
	}
}

func TestPostgresBackupSurvivesMinIODown(t *testing.T) {
	s := newPgSetup(t, "", "")
	s.lifeboat(t, 0, "backup", "workflows")
	s.minio.Stop()
	r := s.lifeboat(t, 2, "backup", "workflows")
	if !strings.Contains(r.stderr, "destination minio") || !strings.Contains(r.stderr, "cannot reach") {
		t.Fatalf("partial backup message:\n%s", r)
	}
	local := s.lifeboat(t, 0, "list", "workflows", "--destination", "local", "--json")
	if strings.Count(local.stdout, `"id"`) != 2 {
		t.Fatalf("local should hold both backups:\n%s", local)
	}
	s.minio.Start()
	r = s.lifeboat(t, 0, "list", "workflows", "--destination", "minio", "--json")
	if strings.Count(r.stdout, `"id"`) != 1 {
		t.Fatalf("minio should still hold the first backup:\n%s", r)
	}
	s.lifeboat(t, 0, "mirror", "--from", "local", "--to", "minio")
}

func TestPostgresErrorsSayWhatToFix(t *testing.T) {
	s := newPgSetup(t, "", "")
	cfg := readFile(t, s.config)
	variant := func(t *testing.T, from, to string) string {
		t.Helper()
		if !strings.Contains(cfg, from) {
			t.Fatalf("config has no %q", from)
		}
		return writeFile(t, filepath.Join(t.TempDir(), "lifeboat.yaml"), strings.Replace(cfg, from, to, 1))
	}
	wrongPw := writeFile(t, filepath.Join(t.TempDir(), "pw"), "not-the-password\n")
	fakeBin := t.TempDir()
	writeFile(t, filepath.Join(fakeBin, "pg_dump"), "#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.11'\n")
	if err := os.Chmod(filepath.Join(fakeBin, "pg_dump"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to string
		want           []string
	}{
		{"wrong password", "password: {file: " + filepath.Join(s.dir, "pg-password") + "}", "password: {file: " + wrongPw + "}", []string{"password authentication failed", wrongPw}},
		{"missing database", "database: argo", "database: nosuchdb", []string{`database "nosuchdb" does not exist`}},
		{"missing pg_dump", "binDir: " + s.pg.BinDir, "binDir: " + t.TempDir(), []string{"pg_dump not found", "postgresql-client-15"}},
		{"old pg_dump", "binDir: " + s.pg.BinDir, "binDir: " + fakeBin, []string{"14.11 is older than the server", "postgresql-client-15"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, 1, s.env, "--config", variant(t, tt.from, tt.to), "backup", "workflows")
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error does not contain %q:\n%s", w, r)
				}
			}
			if strings.Contains(r.stderr+r.stdout, "not-the-password") || strings.Contains(r.stderr+r.stdout, s.pg.Password) {
				t.Error("a password leaked into the output")
			}
		})
	}
}

// Restore hooks against a real Kubernetes API server: the workflow controller and server
// are scaled to 0 for the restore and back to their replicas afterwards, also when the
// restore fails.
func TestPostgresRestoreScalesDeployments(t *testing.T) {
	k := testenv.StartKube(t)
	tokenFile := writeFile(t, filepath.Join(t.TempDir(), "token"), k.Token)
	k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "argo"}}, nil)
	for name, replicas := range map[string]int{"workflow-controller": 2, "argo-server": 3} {
		k.MustDo(http.MethodPost, "/apis/apps/v1/namespaces/argo/deployments", map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": name},
			"spec": map[string]any{
				"replicas": replicas,
				"selector": map[string]any{"matchLabels": map[string]string{"app": name}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]string{"app": name}},
					"spec":     map[string]any{"containers": []map[string]any{{"name": "c", "image": "quay.io/argoproj/" + name}}},
				},
			},
		}, nil)
	}
	hooksCfg := fmt.Sprintf(`    restore:
      scaleDown:
        - {namespace: argo, name: workflow-controller}
        - {namespace: argo, name: argo-server}
      scaleTimeout: 30s
      kubernetes: {server: %s, caFile: %s, tokenFile: %s}`, k.URL, k.CAFile, tokenFile)
	s := newPgSetup(t, hooksCfg, "")
	s.lifeboat(t, 0, "backup", "workflows")

	replicas := func(name string) int {
		var scale struct {
			Spec struct{ Replicas int } `json:"spec"`
		}
		k.MustDo(http.MethodGet, "/apis/apps/v1/namespaces/argo/deployments/"+name+"/scale", nil, &scale)
		return scale.Spec.Replicas
	}
	// watch records the lowest replica count each deployment had while lifeboat ran.
	watch := func() (stop func() map[string]int) {
		low := map[string]int{"workflow-controller": 99, "argo-server": 99}
		var mu sync.Mutex
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				for name := range low {
					n := replicas(name)
					mu.Lock()
					low[name] = min(low[name], n)
					mu.Unlock()
				}
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		return func() map[string]int { close(done); wg.Wait(); return low }
	}

	stop := watch()
	s.lifeboat(t, 0, "restore", "workflows", "--dump", "latest")
	low := stop()
	if low["workflow-controller"] != 0 || low["argo-server"] != 0 {
		t.Fatalf("deployments were not scaled to 0 during the restore: %v", low)
	}
	if replicas("workflow-controller") != 2 || replicas("argo-server") != 3 {
		t.Fatalf("replicas after restore: %d, %d", replicas("workflow-controller"), replicas("argo-server"))
	}

	// A failing restore (the target's schema is newer than the dump's: refused) still
	// brings the replicas back.
	conn := s.pg.Connect("argo")
	if _, err := conn.Exec(context.Background(), "INSERT INTO schema_history VALUES (19)"); err != nil {
		t.Fatal(err)
	}
	stop = watch()
	r := s.lifeboat(t, 1, "restore", "workflows", "--dump", "latest")
	low = stop()
	if !strings.Contains(r.stderr, "--force") || low["workflow-controller"] != 0 {
		t.Fatalf("refused restore: low=%v\n%s", low, r)
	}
	if replicas("workflow-controller") != 2 || replicas("argo-server") != 3 {
		t.Fatalf("replicas after a failed restore: %d, %d", replicas("workflow-controller"), replicas("argo-server"))
	}
}
