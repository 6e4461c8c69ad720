package postgres

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// TestPostgres runs every scenario against one real PostgreSQL 15 server: starting one
// costs seconds, and the scenarios use separate databases.
func TestPostgres(t *testing.T) {
	pg := testenv.StartPostgres(t)
	t.Run("BackupVerifyRestore", func(t *testing.T) { testBackupVerifyRestore(t, pg) })
	t.Run("DSN", func(t *testing.T) { testDSN(t, pg) })
	t.Run("Globals", func(t *testing.T) { testGlobals(t, pg) })
	t.Run("GlobalsMetaCommands", func(t *testing.T) { testGlobalsMetaCommands(t, pg) })
	t.Run("GlobalsLexerAgreesWithPsql", func(t *testing.T) { testGlobalsLexerAgreesWithPsql(t, pg) })
	t.Run("OpenErrors", func(t *testing.T) { testOpenErrors(t, pg) })
	t.Run("DumpFailsMidway", func(t *testing.T) { testDumpFailsMidway(t, pg) })
	t.Run("LargeObjects", func(t *testing.T) { testLargeObjects(t, pg) })
	t.Run("Abort", func(t *testing.T) { testAbort(t, pg) })
	t.Run("RefuseDowngrade", func(t *testing.T) { testRefuseDowngrade(t, pg) })
	t.Run("RestoreChecks", func(t *testing.T) { testRestoreChecks(t, pg) })
	t.Run("DumpSchemaStep", func(t *testing.T) { testDumpSchemaStep(t, pg) })
	t.Run("LateVerdict", func(t *testing.T) { testLateVerdict(t, pg) })
}

func testBackupVerifyRestore(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	createArgo(t, pg, "argo", 17, 3000)
	before := fingerprint(t, pg, "argo")

	src, err := NewSource("workflows", options(pg, "argo"))
	if err != nil {
		t.Fatal(err)
	}
	art, err := src.Open(ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if art.Ext != "dump" || !art.Compress {
		t.Errorf("artifact ext/compress = %q/%v, want dump/true", art.Ext, art.Compress)
	}
	// Written after Open: the exported snapshot keeps it out of the dump and the counts.
	mustExec(t, pg, "argo", "INSERT INTO argo_workflows (id, name, clustername) VALUES ('late', 'late', 'default'); UPDATE schema_history SET schema_version = 18")
	data, err := io.ReadAll(art.Body)
	if err != nil {
		t.Fatalf("read the dump: %v", err)
	}
	m := &catalog.Manifest{}
	if err := art.Finish(ctx, m); err != nil {
		t.Fatalf("finish: %v", err)
	}
	art.Body.Close()
	if !bytes.HasPrefix(data, []byte("PGDMP")) {
		t.Fatalf("not a custom-format dump: %q", data[:min(16, len(data))])
	}

	pi := m.Postgres
	if pi == nil {
		t.Fatal("Finish left manifest.postgres empty")
	}
	if !strings.HasPrefix(pi.ServerVersion, testenv.PostgresMajor+".") || !strings.HasPrefix(pi.PgDumpVersion, testenv.PostgresMajor+".") {
		t.Errorf("versions: server %q, pg_dump %q", pi.ServerVersion, pi.PgDumpVersion)
	}
	if pi.Database != "argo" || pi.Globals {
		t.Errorf("database %q globals %v", pi.Database, pi.Globals)
	}
	if pi.SchemaHistoryStep == nil || *pi.SchemaHistoryStep != 17 {
		t.Errorf("schema step = %v, want 17 (the snapshot's, not the later 18)", pi.SchemaHistoryStep)
	}
	wantCounts := map[string]int64{
		"public.schema_history": 1, "public.argo_workflows": 500, "public.argo_archived_workflows": 3000,
		"public.argo_archived_workflows_labels": 6000, "audit.events": 500,
	}
	if !reflect.DeepEqual(pi.TableRowCounts, wantCounts) {
		t.Errorf("row counts = %v, want %v", pi.TableRowCounts, wantCounts)
	}

	summary, err := VerifyDump(ctx, bytes.NewReader(data), pg.BinDir)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	t.Logf("verify: %s (%d byte dump)", summary, len(data))
	if !strings.Contains(summary, "TOC entries") {
		t.Errorf("summary %q", summary)
	}
	if _, err := VerifyDump(ctx, bytes.NewReader(data[:len(data)/2]), pg.BinDir); err == nil {
		t.Error("a truncated dump passed VerifyDump")
	} else {
		t.Logf("truncated dump: %v", err)
	}

	// A dump from a newer pg_dump (its header says archive format 1.16): the message says
	// which client to install, for verify and for restore.
	live := fingerprint(t, pg, "argo")
	newer := bytes.Clone(data)
	newer[5], newer[6] = 1, 16
	for name, check := range map[string]func() error{
		"verify": func() error { _, err := VerifyDump(ctx, bytes.NewReader(newer), pg.BinDir); return err },
		"restore": func() error {
			return Restore(ctx, bytes.NewReader(newer), RestoreOptions{Target: options(pg, "argo"), Log: slog.New(slog.DiscardHandler)})
		},
	} {
		err := check()
		want := "the dump is in archive format 1.16, written by pg_dump 17 or newer, which pg_restore " + testenv.PostgresMajor + "."
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "install postgresql-client-17 (or newer) and point") {
			t.Errorf("%s of a dump from a newer pg_dump: %v", name, err)
		}
	}
	if !reflect.DeepEqual(fingerprint(t, pg, "argo"), live) {
		t.Error("the refused restore changed the database")
	}

	mustExec(t, pg, "postgres", "DROP DATABASE argo WITH (FORCE)")
	var logs bytes.Buffer
	err = Restore(ctx, bytes.NewReader(data), RestoreOptions{
		Target: options(pg, "argo"), DumpSchemaStep: pi.SchemaHistoryStep,
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !strings.Contains(logs.String(), "created it") {
		t.Errorf("no log line about creating the database: %s", logs.String())
	}
	if after := fingerprint(t, pg, "argo"); !reflect.DeepEqual(after, before) {
		t.Errorf("restored data differs:\nbefore %v\nafter  %v", before, after)
	}
	counts, err := RowCounts(ctx, options(pg, "argo"))
	if err != nil || !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("RowCounts after restore = %v, %v", counts, err)
	}
	if step, err := SchemaStep(ctx, options(pg, "argo")); err != nil || step == nil || *step != 17 {
		t.Errorf("SchemaStep after restore = %v, %v", step, err)
	}

	// Restoring again over the existing database replaces its contents.
	mustExec(t, pg, "argo", "DELETE FROM argo_archived_workflows WHERE phase = 'Error'; INSERT INTO audit.events (\"Note\") VALUES ('extra')")
	if err := Restore(ctx, bytes.NewReader(data), RestoreOptions{Target: options(pg, "argo"), Log: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatalf("restore over the existing database: %v", err)
	}
	if after := fingerprint(t, pg, "argo"); !reflect.DeepEqual(after, before) {
		t.Errorf("data after restoring over the database differs:\nbefore %v\nafter  %v", before, after)
	}
}

// A DSN with the password inside works the same as the fields.
func testDSN(t *testing.T, pg *testenv.Postgres) {
	createArgo(t, pg, "argo_dsn", 5, 60)
	o := options(pg, "")
	o.Host, o.Port, o.User, o.Password, o.SSLMode = "", 0, "", nil, ""
	o.DSN = func() (string, error) { return pg.DSN("argo_dsn"), nil }
	_, m, _ := backup(t, o)
	if m.Postgres.Database != "argo_dsn" || m.Postgres.TableRowCounts["public.argo_archived_workflows"] != 60 {
		t.Errorf("manifest from a DSN source: %+v", m.Postgres)
	}
}
