package postgres

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lifeboat-backup/lifeboat/internal/holdback"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// lateVerdict is a backup stream whose bad checksum is known only a while after its last
// byte: every byte of the dump, then, after delay (or once wait returned), an error
// instead of io.EOF.
type lateVerdict struct {
	r     io.Reader
	delay time.Duration
	wait  func()
}

var errLateChecksum = errors.New("checksum mismatch: stored object has sha256 …, the manifest says …")

func (l *lateVerdict) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if errors.Is(err, io.EOF) {
		time.Sleep(l.delay)
		if l.wait != nil {
			l.wait()
		}
		return n, errLateChecksum
	}
	return n, err
}

// A dump found bad only after pg_restore could have read all of it: restored through
// holdback (as internal/restore does), pg_restore never gets the dump's end, is killed
// when the verdict comes and commits nothing, in both restore modes. Without holdback,
// the control, pg_restore commits the whole dump before the verdict.
func testLateVerdict(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	createArgo(t, pg, "argo_late", 17, 3000)
	data, m, _ := backup(t, options(pg, "argo_late"))
	const delay = 2 * time.Second

	for _, viaScript := range []bool{false, true} {
		db := "late_direct"
		if viaScript {
			db = "late_script"
		}
		mustExec(t, pg, "postgres", "CREATE DATABASE "+db)
		mustExec(t, pg, db, "CREATE TABLE kept (n int); INSERT INTO kept SELECT generate_series(1, 3)")
		before := tables(t, pg, db)
		opts := RestoreOptions{Target: options(pg, db), DumpSchemaStep: m.Postgres.SchemaHistoryStep, Log: quiet, viaScript: viaScript}
		start := time.Now()
		err := Restore(ctx, holdback.New(&lateVerdict{r: bytes.NewReader(data), delay: delay}, holdback.Size), opts)
		if !errors.Is(err, errLateChecksum) || !strings.Contains(err.Error(), "rolled back") {
			t.Errorf("viaScript %v: restore of a dump found bad at its end = %v, want the checksum error and a rollback", viaScript, err)
		}
		if took := time.Since(start); took < delay {
			t.Errorf("viaScript %v: the restore ended after %v, before the verdict came", viaScript, took)
		}
		if got := tables(t, pg, db); !maps.Equal(got, before) {
			t.Errorf("viaScript %v: the refused restore changed the database: %v, was %v", viaScript, got, before)
		}
	}

	// The control: the same stream without holdback is committed before its verdict,
	// which waits (up to a minute) for the restored tables to be visible.
	mustExec(t, pg, "postgres", "CREATE DATABASE late_control")
	before := tables(t, pg, "late_control")
	committed := func() {
		conn, err := pgx.Connect(ctx, pg.DSN("late_control"))
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'argo_workflows'").Scan(&n); err != nil || n > 0 {
				return
			}
		}
	}
	err := Restore(ctx, &lateVerdict{r: bytes.NewReader(data), wait: committed}, RestoreOptions{Target: options(pg, "late_control"), DumpSchemaStep: m.Postgres.SchemaHistoryStep, Log: quiet})
	if !errors.Is(err, errLateChecksum) {
		t.Errorf("restore without holdback = %v, want the checksum error", err)
	}
	if got := tables(t, pg, "late_control"); maps.Equal(got, before) {
		t.Error("without holdback pg_restore did not commit before the verdict: this test shows nothing")
	}
}

// tables is each user table of db with its row count. Unlike fingerprint it closes its
// connection: the test server takes 50, and TestPostgres's subtests share it.
func tables(t *testing.T, pg *testenv.Postgres, db string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, name := range names {
		var n int64
		schema, table, _ := strings.Cut(name, ".")
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, table}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}
