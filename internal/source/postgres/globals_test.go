package postgres

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// The roles that own a database's objects come back with globals.sql, so a restore that
// keeps owners works on a server that lost them.
func testGlobals(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	mustExec(t, pg, "postgres", "CREATE ROLE argo_auditor LOGIN PASSWORD 'auditor-pw' CONNECTION LIMIT 7")
	createArgo(t, pg, "argo_globals", 3, 60)
	mustExec(t, pg, "argo_globals", "ALTER TABLE audit.events OWNER TO argo_auditor; ALTER SCHEMA audit OWNER TO argo_auditor")
	before := fingerprint(t, pg, "argo_globals")

	o := options(pg, "argo_globals")
	o.Globals = true
	data, m, extras := backup(t, o)
	if !m.Postgres.Globals {
		t.Error("manifest does not record globals")
	}
	if len(extras) != 1 || extras[0].Name != "globals.sql" || !bytes.Contains(extras[0].Data, []byte("CREATE ROLE argo_auditor")) {
		t.Fatalf("extras = %d, want globals.sql with the role: %q", len(extras), extras)
	}

	mustExec(t, pg, "postgres", "DROP DATABASE argo_globals WITH (FORCE)")
	mustExec(t, pg, "postgres", "DROP ROLE argo_auditor")
	err := Restore(ctx, bytes.NewReader(data), RestoreOptions{
		Target:  options(pg, "argo_globals"),
		Globals: bytes.NewReader(extras[0].Data),
		Log:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("restore with globals: %v", err)
	}
	var owner string
	var limit int
	conn := pg.Connect("argo_globals")
	err = conn.QueryRow(ctx, `SELECT tableowner, (SELECT rolconnlimit FROM pg_roles WHERE rolname = tableowner)
		FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'events'`).Scan(&owner, &limit)
	if err != nil || owner != "argo_auditor" || limit != 7 {
		t.Errorf("audit.events owner %q (connection limit %d), %v; want argo_auditor (7)", owner, limit, err)
	}
	if after := fingerprint(t, pg, "argo_globals"); len(after) != len(before) || after["audit.events"] != before["audit.events"] {
		t.Errorf("restored data differs:\nbefore %v\nafter  %v", before, after)
	}

	// Errors other than "already exists" are reported, after the whole file ran.
	bad := "CREATE ROLE argo_auditor;\nCREATE ROLE later_role;\nALTER ROLE no_such_role SET work_mem = '1MB';\n"
	err = Restore(ctx, bytes.NewReader(data), RestoreOptions{
		Target: options(pg, "argo_globals"), Globals: strings.NewReader(bad), Log: slog.New(slog.DiscardHandler),
	})
	if err == nil || !strings.Contains(err.Error(), `role "no_such_role" does not exist`) || strings.Contains(err.Error(), "already exists") {
		t.Errorf("bad globals: %v", err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = 'later_role'").Scan(&n); err != nil || n != 1 {
		t.Errorf("statements after an error did not run: %d, %v", n, err)
	}
}
