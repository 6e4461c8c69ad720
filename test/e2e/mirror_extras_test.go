package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A backup's extras (the roles dump, globals.sql) travel with it: mirror copies them
// before the manifest, verify checks them in the target, and a restore from a copied
// backup directory applies them.
func TestMirrorCopiesExtrasAndTheyVerify(t *testing.T) {
	s := newPgSetup(t, "", "")
	ctx := context.Background()
	conn := s.pg.Connect("argo")
	if _, err := conn.Exec(ctx, "CREATE ROLE argo_auditor LOGIN PASSWORD 'pw'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO argo_auditor"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	s.lifeboat(t, 0, "backup", "workflows", "--destination", "local")
	r := s.lifeboat(t, 0, "verify", "latest", "--destination", "local")
	if !strings.Contains(r.stdout, "globals.sql.zst ok") {
		t.Fatalf("verify does not check the extra:\n%s", r)
	}
	id := strings.Fields(r.stdout)[0]

	r = s.lifeboat(t, 0, "mirror", "--from", "local", "--to", "minio")
	if !strings.Contains(r.stdout, "1 backups copied") {
		t.Fatalf("mirror:\n%s", r)
	}
	r = s.lifeboat(t, 0, "verify", id, "--destination", "minio")
	if !strings.Contains(r.stdout, "in minio: OK") || !strings.Contains(r.stdout, "globals.sql.zst ok") {
		t.Fatalf("the mirrored backup does not verify with its extra:\n%s", r)
	}

	// A loose data file whose directory holds the manifest and the extra: --globals reads
	// the extra from there.
	s.dropArgo(t)
	c := s.pg.Connect("postgres")
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "DROP ROLE argo_auditor"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(s.localDir, "workflows", id, "data.dump.zst")
	s.lifeboat(t, 0, "restore", "workflows", "--dump", file, "--globals")
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = 'argo_auditor'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("role argo_auditor not restored from the directory's globals: %d %v", n, err)
	}
}
