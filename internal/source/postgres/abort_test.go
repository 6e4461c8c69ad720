package postgres

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Closing the body early (an aborted run) kills and reaps pg_dump and ends the
// transaction: no process and no session is left behind.
func testAbort(t *testing.T, pg *testenv.Postgres) {
	createArgo(t, pg, "argo_abort", 1, 6000)
	src, _ := NewSource("workflows", options(pg, "argo_abort"))
	art, err := src.Open(context.Background())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if _, err := io.ReadFull(art.Body, make([]byte, 1024)); err != nil {
		t.Fatalf("read: %v", err)
	}
	d := art.Body.(*dump)
	pid := d.cmd.Process.Pid
	if err := art.Body.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if d.cmd.ProcessState == nil {
		t.Fatal("pg_dump was not reaped")
	}
	if st := d.cmd.ProcessState.String(); st != "signal: killed" {
		t.Errorf("pg_dump ended with %q, want it killed while it was still dumping", st)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pg_dump (pid %d) is still there: %v", pid, err)
	}
	if _, err := art.Body.Read(make([]byte, 10)); !errors.Is(err, errClosed) {
		t.Errorf("read after close = %v, want errClosed (never a clean EOF)", err)
	}
	if err := art.Body.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	assertNoSessions(t, pg, "argo_abort")
}

// assertNoSessions waits until neither lifeboat's snapshot session nor pg_dump's is
// connected to db any more (the server notices a killed client within moments).
func assertNoSessions(t *testing.T, pg *testenv.Postgres, db string) {
	t.Helper()
	conn := pg.Connect("postgres")
	var left []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		left = nil
		rows, err := conn.Query(context.Background(),
			"SELECT application_name || ' (' || state || ')' FROM pg_stat_activity WHERE datname = $1 AND application_name IN ('lifeboat', 'pg_dump')", db)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			left = append(left, s)
		}
		rows.Close()
		if len(left) == 0 {
			return
		}
	}
	t.Errorf("sessions left on %s: %v", db, left)
}
