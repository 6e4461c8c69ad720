package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

// A globals.sql with a psql meta-command is refused before anything changes: the shell
// command never runs, no statement of the file runs, the database is not created. Text
// that only looks like a meta-command inside quotes reaches the server as data.
func testGlobalsMetaCommands(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	createArgo(t, pg, "argo_meta", 3, 5)
	data, _, _ := backup(t, options(pg, "argo_meta"))
	mustExec(t, pg, "postgres", "DROP DATABASE argo_meta WITH (FORCE)")
	marker := filepath.Join(t.TempDir(), "pwned")
	conn := pg.Connect("postgres")
	defer conn.Close(ctx)
	roles := func(name string) int {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	for evil, line := range map[string]int{
		"CREATE ROLE meta_probe;\n\\! touch " + marker + "\n": 2,
		// On the next line psql opens a plain string at the quote, which never ends.
		"CREATE ROLE meta_probe;\nCOMMENT ON ROLE meta_probe IS E'x'\n'it\\'' \\! touch " + marker + "\n;\n": 3,
		"CREATE ROLE meta_probe;\nCOPY (SELECT 1) TO PROGRAM 'touch " + marker + "';\n":                      2,
	} {
		err := Restore(ctx, bytes.NewReader(data), RestoreOptions{
			Target: options(pg, "argo_meta"), Globals: strings.NewReader(evil), Log: slog.New(slog.DiscardHandler),
		})
		var ge *globalsError
		if !errors.As(err, &ge) || ge.Line != line {
			t.Errorf("%q: err = %v, want globals.sql line %d refused", evil, err, line)
		}
		if _, serr := os.Stat(marker); serr == nil {
			t.Fatalf("%q: the shell command ran", evil)
		}
		if n := roles("meta_probe"); n != 0 {
			t.Errorf("%q: a statement of the refused file ran", evil)
		}
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'argo_meta')").Scan(&exists); err != nil || exists {
			t.Errorf("%q: the database was created (%v) before globals.sql was refused", evil, err)
		}
	}

	// Quoted look-alikes are data: psql reads them as the check did.
	quoted := "SET standard_conforming_strings = on;\nCREATE ROLE meta_probe;\n" +
		"COMMENT ON ROLE meta_probe IS E'one\\'\n\\! touch " + marker + "\nit''s \\\\';\n" +
		"ALTER ROLE meta_probe SET application_name TO $q$\n\\! touch " + marker + "\n$q$;\n"
	err := Restore(ctx, bytes.NewReader(data), RestoreOptions{
		Target: options(pg, "argo_meta"), Globals: strings.NewReader(quoted), Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("quoted look-alikes: %v", err)
	}
	if _, serr := os.Stat(marker); serr == nil {
		t.Fatal("a quoted look-alike ran as a shell command")
	}
	var comment string
	if err := conn.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = 'meta_probe'").Scan(&comment); err != nil {
		t.Fatal(err)
	}
	if want := "one'\n! touch " + marker + "\nit's \\"; comment != want { // \! is an escape in E''

		t.Errorf("comment = %q, want %q", comment, want)
	}
	mustExec(t, pg, "postgres", "DROP DATABASE argo_meta WITH (FORCE)")
	mustExec(t, pg, "postgres", "DROP ROLE meta_probe")
}

// checkGlobals reads the tricky inputs as psql does: psql itself (without lifeboat's
// \restrict) runs the shell command of exactly those checkGlobals refuses for a backslash.
func testGlobalsLexerAgreesWithPsql(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	psql := filepath.Join(pg.BinDir, "psql")
	srv, err := resolve(options(pg, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		in   string // MARKER is replaced by a file the shell command would create
		runs bool
	}{
		{"\\! touch MARKER #\n", true},
		{"CREATE ROLE a; \\! touch MARKER #\n", true},
		{"COMMENT ON ROLE postgres IS E'x'\n'it\\'' \\! touch MARKER #\n;\n", false},
		{"COMMENT ON ROLE postgres IS E'x'\r'it\\'' \\! touch MARKER #\n;\n", true},
		{"CREATE ROLE meta_probe2; -- c\r\\! touch MARKER #\n", true},
		{"COMMENT ON ROLE postgres IS 1.E'\\' \\! touch MARKER #\n';\n", true},
		{"COMMENT ON ROLE postgres IS E'x'\v\n'\\' \\! touch MARKER #\n';\n", true},
		{"COMMENT ON ROLE postgres IS E'x'\n'\\' \\! touch MARKER # ';\n", true},
		{"COMMENT ON ROLE postgres IS E'x' '\\' \\! touch MARKER # ';\n", true},
		{"COMMENT ON ROLE postgres IS E'x'\r'\\' \\! touch MARKER # ';\n", false},
		{"COMMENT ON ROLE postgres IS E'x' -- c\r'\\' \\! touch MARKER # ';\n", false},
		{"COMMENT ON ROLE postgres IS 'one\n\\! touch MARKER #\n';\n", false},
		{"COMMENT ON ROLE postgres IS $q$\n\\! touch MARKER #\n$q$;\n", false},
		{"COMMENT ON ROLE postgres IS E'one\\'\n\\! touch MARKER #\n';\n", false},
		{"CREATE ROLE \"x\n\\! touch MARKER #\n\";\n", false},
		{"/* \\! touch MARKER #\n */ -- \\! touch MARKER #\nSELECT 1;\n", false},
	} {
		marker := filepath.Join(t.TempDir(), fmt.Sprintf("ran-%d", i))
		in := strings.ReplaceAll(tc.in, "MARKER", marker)
		_, lexErr := checkGlobals([]byte(in))
		var ge *globalsError
		refused := errors.As(lexErr, &ge) && strings.Contains(ge.Reason, "backslash") ||
			errors.As(lexErr, &ge) && (strings.Contains(ge.Reason, "meta-command") || strings.Contains(ge.Reason, "control character") || strings.Contains(ge.Reason, "after a dot"))

		cmd := srv.command(ctx, psql, "postgres", "--no-password", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=0", "--file=-")
		cmd.Env = append(cmd.Env, "PGOPTIONS=-c standard_conforming_strings=on", "PGCLIENTENCODING=UTF8")
		cmd.Stdin = strings.NewReader(in)
		out, _ := cmd.CombinedOutput()
		_, statErr := os.Stat(marker)
		ran := statErr == nil
		if ran != tc.runs {
			t.Errorf("%q: psql ran the command: %v, the test expects %v (psql said %s)", in, ran, tc.runs, out)
		}
		if refused != ran {
			t.Errorf("%q: checkGlobals refused it for a meta-command: %v (%v); psql ran it: %v", in, refused, lexErr, ran)
		}
	}
	mustExec(t, pg, "postgres", "DROP ROLE IF EXISTS meta_probe2; COMMENT ON ROLE postgres IS NULL")

	// Behind the check, psql runs restricted (\restrict with lifeboat's key) when it can:
	// a meta-command handed to applyGlobals directly still does not run.
	v, err := toolVersion(ctx, psql)
	if err != nil {
		t.Fatal(err)
	}
	if !knowsRestrict(v) {
		t.Fatalf("psql %s has no \\restrict; the test server's client should (15.14 and later)", v.Text)
	}
	marker := filepath.Join(t.TempDir(), "restricted")
	_ = applyGlobals(ctx, srv, psql, "postgres", []byte("\\! touch "+marker+"\n"))
	if _, err := os.Stat(marker); err == nil {
		t.Error("psql ran a meta-command although lifeboat restricted it")
	}
}
