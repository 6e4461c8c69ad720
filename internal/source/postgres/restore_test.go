package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// A dump with an older Argo schema step is not restored over a newer one unless forced.
func testRefuseDowngrade(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	createArgo(t, pg, "argo_old", 17, 30)
	data, m, _ := backup(t, options(pg, "argo_old"))
	createArgo(t, pg, "argo_new", 19, 12)
	before := fingerprint(t, pg, "argo_new")

	opts := RestoreOptions{Target: options(pg, "argo_new"), DumpSchemaStep: m.Postgres.SchemaHistoryStep, Log: slog.New(slog.DiscardHandler)}
	err := Restore(ctx, bytes.NewReader(data), opts)
	want := "target database has Argo schema step 19, the dump has 17: restoring would downgrade the schema under a newer workflow controller; use --force if you mean it"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("restore over a newer schema: %v", err)
	}
	if after := fingerprint(t, pg, "argo_new"); after["public.argo_archived_workflows"] != before["public.argo_archived_workflows"] {
		t.Error("a refused restore changed the target")
	}

	opts.Force = true
	if err := Restore(ctx, bytes.NewReader(data), opts); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	if step, err := SchemaStep(ctx, options(pg, "argo_new")); err != nil || step == nil || *step != 17 {
		t.Errorf("schema step after the forced restore = %v, %v", step, err)
	}

	// A dump that is cut off fails pg_restore, and the single transaction leaves the
	// target untouched.
	mustExec(t, pg, "argo_new", "INSERT INTO audit.events (\"Note\") VALUES ('kept')")
	before = fingerprint(t, pg, "argo_new")
	err = Restore(ctx, bytes.NewReader(data[:len(data)*2/3]), RestoreOptions{Target: options(pg, "argo_new"), Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "pg_restore failed") || !strings.Contains(err.Error(), `rolled back: pg_restore runs in one transaction, so database "argo_new" is as it was`) {
		t.Errorf("restore of a truncated dump: %v", err)
	}
	if after := fingerprint(t, pg, "argo_new"); after["audit.events"] != before["audit.events"] {
		t.Errorf("a failed restore changed the target: %v vs %v", after["audit.events"], before["audit.events"])
	}

	// A backup that cannot be read to the end (a failed download, a wrong age identity)
	// is reported as such, not as pg_restore's complaint about its input.
	broken := io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(errors.New("age: chunk authentication failed")))
	err = Restore(ctx, broken, RestoreOptions{Target: options(pg, "argo_new"), Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "reading the backup for pg_restore: age: chunk authentication failed") {
		t.Errorf("restore from a failing reader: %v", err)
	}
	if after := fingerprint(t, pg, "argo_new"); after["audit.events"] != before["audit.events"] {
		t.Error("a failed restore changed the target")
	}
}

// CheckRestore refuses what Restore would refuse, before anything changes; and a failed
// restore says exactly what stays behind.
func testRestoreChecks(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	createArgo(t, pg, "argo_chk_old", 17, 30)
	data, m, _ := backup(t, options(pg, "argo_chk_old"))
	createArgo(t, pg, "argo_chk_new", 19, 12)
	mustExec(t, pg, "postgres", "CREATE ROLE chk_nocreate LOGIN PASSWORD 'pw'")
	noCreate := options(pg, "argo_chk_missing")
	noCreate.User, noCreate.Password = "chk_nocreate", func() (string, error) { return "pw", nil }
	noTools := options(pg, "argo_chk_new")
	noTools.BinDir = t.TempDir()
	onlyRestore := options(pg, "argo_chk_new")
	onlyRestore.BinDir = t.TempDir()
	fakeTool(t, onlyRestore.BinDir, "pg_restore", "exit 0")
	before := fingerprint(t, pg, "argo_chk_new")
	for _, tc := range []struct {
		name    string
		opts    RestoreOptions
		globals bool
		want    string // "" = passes
	}{
		{"downgrade", RestoreOptions{Target: options(pg, "argo_chk_new"), DumpSchemaStep: m.Postgres.SchemaHistoryStep},
			false, "target database has Argo schema step 19, the dump has 17"},
		{"forced downgrade", RestoreOptions{Target: options(pg, "argo_chk_new"), DumpSchemaStep: m.Postgres.SchemaHistoryStep, Force: true}, false, ""},
		{"same step", RestoreOptions{Target: options(pg, "argo_chk_old"), DumpSchemaStep: m.Postgres.SchemaHistoryStep}, false, ""},
		{"missing database, may create", RestoreOptions{Target: options(pg, "argo_chk_missing"), DumpSchemaStep: m.Postgres.SchemaHistoryStep}, false, ""},
		{"missing database, may not create", RestoreOptions{Target: noCreate}, false,
			`database "argo_chk_missing" does not exist on ` + fmt.Sprintf("%s:%d", pg.Host, pg.Port) + ` and user "chk_nocreate" may not create it`},
		{"no pg_restore", RestoreOptions{Target: noTools}, false, "pg_restore not found in " + noTools.BinDir},
		{"no psql for globals", RestoreOptions{Target: onlyRestore}, true, "psql not found in " + onlyRestore.BinDir},
		{"psql not needed without globals", RestoreOptions{Target: onlyRestore}, false, ""},
		{"wrong password", RestoreOptions{Target: func() Options {
			o := options(pg, "argo_chk_new")
			o.Password = func() (string, error) { return "wrong", nil }
			return o
		}()}, false, "password authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRestore(ctx, tc.opts, tc.globals)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckRestore: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckRestore = %v, want %q", err, tc.want)
			}
		})
	}
	if !reflect.DeepEqual(fingerprint(t, pg, "argo_chk_new"), before) {
		t.Error("CheckRestore changed the target")
	}
	conn := pg.Connect("postgres")
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = 'argo_chk_missing'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("CheckRestore created the missing database: %d %v", n, err)
	}

	// A failed restore into a database lifeboat created: it stays, empty, and says so.
	err := Restore(ctx, bytes.NewReader(data[:len(data)*2/3]), RestoreOptions{Target: options(pg, "argo_chk_missing"), Log: quiet})
	want := `database "argo_chk_missing", which lifeboat created for this restore, stays behind empty: drop it or restore again`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("failed restore into a created database: %v", err)
	}

	// Owners the target lacks: the error says which flags fix it, and --no-owner does.
	mustExec(t, pg, "postgres", "CREATE ROLE chk_owner")
	createArgo(t, pg, "argo_chk_owned", 3, 10)
	mustExec(t, pg, "argo_chk_owned", "ALTER TABLE argo_workflows OWNER TO chk_owner")
	owned, _, _ := backup(t, options(pg, "argo_chk_owned"))
	mustExec(t, pg, "argo_chk_owned", "ALTER TABLE argo_workflows OWNER TO postgres")
	mustExec(t, pg, "postgres", "DROP ROLE chk_owner")
	err = Restore(ctx, bytes.NewReader(owned), RestoreOptions{Target: options(pg, "argo_chk_owned"), Log: quiet})
	if err == nil || !strings.Contains(err.Error(), `role "chk_owner" does not exist`) || !strings.Contains(err.Error(), "restore with --globals (the backup's roles) or --no-owner") {
		t.Errorf("restore with a missing owner: %v", err)
	}
	if err := Restore(ctx, bytes.NewReader(owned), RestoreOptions{Target: options(pg, "argo_chk_owned"), NoOwner: true, Log: quiet}); err != nil {
		t.Errorf("restore --no-owner: %v", err)
	}
}
