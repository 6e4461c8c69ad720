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
	// Hermetic: a password inherited from the environment or ~/.pgpass changes the advice.
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGPASSFILE", filepath.Join(empty, "no-pgpass"))
	passfile := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(passfile, []byte("*:*:*:*:wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A target given on the command line, as `restore --target-dsn` builds it.
	flags := func(o *Options) {
		o.DSN = func() (string, error) {
			return fmt.Sprintf("host=%s port=%d dbname=argo_err user=%s sslmode=disable", pg.Host, pg.Port, pg.User), nil
		}
		o.Host, o.Port, o.Database, o.User, o.Password, o.SSLMode, o.Describe = "", 0, "", "", nil, "", ""
		o.DSNFlag, o.PasswordFlag, o.Field = "--target-dsn", "--target-password-file", "sources[workflows].postgres"
	}
	for _, tc := range []struct {
		name   string
		change func(*testing.T, *Options)
		want   []string
	}{
		{"wrong password", func(t *testing.T, o *Options) { o.Password = func() (string, error) { return "wrong", nil } },
			[]string{`password authentication failed for user "postgres" at ` + at + ": check postgres.password (env:TEST_PGPASSWORD)"}},
		{"wrong password in a DSN", func(t *testing.T, o *Options) {
			o.Host, o.Port, o.User, o.Password, o.SSLMode, o.Describe = "", 0, "", nil, "", "file:/run/secrets/dsn"
			o.DSN = func() (string, error) { return strings.Replace(pg.DSN("argo_err"), pg.Password, "wrong", 1), nil }
		}, []string{"password authentication failed", "check the password in postgres.dsn (file:/run/secrets/dsn)"}},
		{"no password configured", func(t *testing.T, o *Options) { o.Password = nil },
			[]string{`password authentication failed for user "postgres" at ` + at + ": no password is configured; set postgres.password"}},
		{"wrong PGPASSWORD inherited", func(t *testing.T, o *Options) { o.Password = nil; t.Setenv("PGPASSWORD", "wrong") },
			[]string{"no password is configured, so the one from the PGPASSWORD environment variable was used and the server rejected it; fix it there or set postgres.password"}},
		{"wrong password file inherited", func(t *testing.T, o *Options) { o.Password = nil; t.Setenv("PGPASSFILE", passfile) },
			[]string{"so the one from the password file " + passfile + " was used"}},
		{"flags: no password", func(t *testing.T, o *Options) { flags(o) },
			[]string{"no password is configured; set --target-password-file or PGPASSWORD"}},
		{"flags: wrong password file", func(t *testing.T, o *Options) {
			flags(o)
			o.Password, o.Describe = func() (string, error) { return "wrong", nil }, "file:/run/pw"
		}, []string{"check --target-password-file (file:/run/pw)"}},
		{"flags: wrong PGPASSWORD", func(t *testing.T, o *Options) { flags(o); t.Setenv("PGPASSWORD", "wrong") },
			[]string{"the one from the PGPASSWORD environment variable was used and the server rejected it; fix it there or set --target-password-file"}},
		{"flags: missing database", func(t *testing.T, o *Options) {
			flags(o)
			o.DSN = func() (string, error) {
				return fmt.Sprintf("host=%s port=%d dbname=nope user=%s password=%s sslmode=disable", pg.Host, pg.Port, pg.User, pg.Password), nil
			}
		}, []string{`database "nope" does not exist on ` + at + ": check the database in --target-dsn"}},
		{"flags: unreachable", func(t *testing.T, o *Options) {
			flags(o)
			o.Port = testenv.FreePort(t)
		}, []string{"check the host and port in --target-dsn, network policy and the sslmode in --target-dsn"}},
		{"flags: pg_dump not found", func(t *testing.T, o *Options) { flags(o); o.BinDir = empty; t.Setenv("PGPASSWORD", pg.Password) },
			[]string{"set sources[workflows].postgres.binDir"}},
		{"sslMode require, server without TLS", func(t *testing.T, o *Options) { o.SSLMode = "require" },
			[]string{"PostgreSQL at " + at + ` does not accept TLS connections, but sslmode "require" requires TLS`, "or set postgres.sslMode to prefer or disable"}},
		{"sslmode in a DSN", func(t *testing.T, o *Options) {
			o.Host, o.Port, o.User, o.Password, o.SSLMode = "", 0, "", nil, ""
			o.DSN = func() (string, error) {
				return strings.Replace(pg.DSN("argo_err"), "sslmode=disable", "sslmode=verify-full", 1), nil
			}
		}, []string{`sslmode "verify-full" requires TLS`, "or set the sslmode in postgres.dsn"}},
		{"missing database", func(t *testing.T, o *Options) { o.Database = "nope" },
			[]string{`database "nope" does not exist on ` + at + ": check postgres.database"}},
		{"unreachable", func(t *testing.T, o *Options) { o.Port = testenv.FreePort(t) },
			[]string{"cannot reach PostgreSQL at 127.0.0.1:", "check postgres.host and .port"}},
		{"pg_dump not found", func(t *testing.T, o *Options) { o.BinDir = empty },
			[]string{"pg_dump not found in " + empty + ": install postgresql-client-15 (Debian/Ubuntu) or set postgres.binDir"}},
		{"pg_dump older than the server", func(t *testing.T, o *Options) { o.BinDir = old },
			[]string{"pg_dump 14.11 is older than the server (15.", "): pg_dump cannot dump a newer server; install postgresql-client-15 or point postgres.binDir at its bin directory"}},
		{"pg_dumpall missing for globals", func(t *testing.T, o *Options) {
			o.Globals = true
			o.BinDir = t.TempDir()
			fakeTool(t, o.BinDir, "pg_dump", `exec `+filepath.Join(pg.BinDir, "pg_dump")+` "$@"`)
		}, []string{"pg_dumpall not found in "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(pg, "argo_err")
			tc.change(t, &o)
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
