package postgres

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// fakeTool writes an executable shell script standing in for a client program.
func fakeTool(t *testing.T, dir, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func testOpenErrors(t *testing.T, pg *testenv.Postgres) {
	pg.CreateDatabase("argo_err")
	at := fmt.Sprintf("%s:%d", pg.Host, pg.Port)
	empty := t.TempDir()
	// The only way to get a client older than the server here: the real check is
	// ParseVersion plus olderMajor (unit-tested), this proves the wiring and the message.
	old := t.TempDir()
	fakeTool(t, old, "pg_dump", `echo "pg_dump (PostgreSQL) 14.11 (Debian 14.11-1.pgdg120+1)"`)
	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   []string
	}{
		{"wrong password", func(o *Options) { o.Password = func() (string, error) { return "wrong", nil } },
			[]string{`password authentication failed for user "postgres" at ` + at + ": check postgres.password (env:TEST_PGPASSWORD)"}},
		{"wrong password in a DSN", func(o *Options) {
			o.Host, o.Port, o.User, o.Password, o.SSLMode, o.Describe = "", 0, "", nil, "", "file:/run/secrets/dsn"
			o.DSN = func() (string, error) { return strings.Replace(pg.DSN("argo_err"), pg.Password, "wrong", 1), nil }
		}, []string{"password authentication failed", "check the password in postgres.dsn (file:/run/secrets/dsn)"}},
		{"no password configured", func(o *Options) { o.Password = nil },
			[]string{`password authentication failed for user "postgres" at ` + at + ": no password is configured; set postgres.password"}},
		{"missing database", func(o *Options) { o.Database = "nope" },
			[]string{`database "nope" does not exist on ` + at + ": check postgres.database"}},
		{"unreachable", func(o *Options) { o.Port = testenv.FreePort(t) },
			[]string{"cannot reach PostgreSQL at 127.0.0.1:", "check postgres.host and .port"}},
		{"pg_dump not found", func(o *Options) { o.BinDir = empty },
			[]string{"pg_dump not found in " + empty + ": install postgresql-client-15 (Debian/Ubuntu) or set postgres.binDir"}},
		{"pg_dump older than the server", func(o *Options) { o.BinDir = old },
			[]string{"pg_dump 14.11 is older than the server (15.", "): pg_dump cannot dump a newer server; install postgresql-client-15 or point postgres.binDir at its bin directory"}},
		{"pg_dumpall missing for globals", func(o *Options) {
			o.Globals = true
			o.BinDir = t.TempDir()
			fakeTool(t, o.BinDir, "pg_dump", `exec `+filepath.Join(pg.BinDir, "pg_dump")+` "$@"`)
		}, []string{"pg_dumpall not found in "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(pg, "argo_err")
			tc.change(&o)
			src, err := NewSource("workflows", o)
			if err != nil {
				t.Fatal(err)
			}
			art, err := src.Open(context.Background())
			if err == nil {
				art.Body.Close()
				t.Fatal("Open succeeded")
			}
			t.Logf("%v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), pg.Password) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	assertNoSessions(t, pg, "argo_err")
}

// A pg_dump that dies after writing part of the dump fails the run in Finish, with its
// stderr and exit status, so nothing is committed.
func testDumpFailsMidway(t *testing.T, pg *testenv.Postgres) {
	pg.CreateDatabase("argo_midway")
	dir := t.TempDir()
	fakeTool(t, dir, "pg_dump", `
if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 15.99"; exit 0; fi
case "$*" in *--snapshot=*) ;; *) echo "no snapshot given" >&2; exit 9;; esac
case "$*" in *"$PGPASSWORD"*) echo "no PGPASSWORD, or the password is on the command line" >&2; exit 9;; esac
printf 'PGDMP partial dump'
echo 'pg_dump: error: Dumping the contents of table "argo_archived_workflows" failed: PQgetResult() failed.' >&2
echo 'pg_dump: error: Error message from server: ERROR:  canceling statement due to conflict with recovery' >&2
exit 3`)
	o := options(pg, "argo_midway")
	o.BinDir = dir
	src, _ := NewSource("workflows", o)
	art, err := src.Open(context.Background())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer art.Body.Close()
	data, err := io.ReadAll(art.Body)
	if err != nil || string(data) != "PGDMP partial dump" {
		t.Fatalf("read %q, %v; finish says: %v", data, err, art.Finish(context.Background(), &catalog.Manifest{}))
	}
	m := &catalog.Manifest{}
	err = art.Finish(context.Background(), m)
	if err == nil {
		t.Fatal("Finish accepted a failed pg_dump")
	}
	for _, w := range []string{"pg_dump failed (exit status 3)", "conflict with recovery", `table "argo_archived_workflows" failed`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
	if m.Postgres != nil {
		t.Errorf("manifest filled after a failed dump: %+v", m.Postgres)
	}
	art.Body.Close()
	assertNoSessions(t, pg, "argo_midway")
}
