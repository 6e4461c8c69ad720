package postgres

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
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
	if err == nil || !strings.Contains(err.Error(), "pg_restore failed") || !strings.Contains(err.Error(), "left unchanged") {
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
