package postgres

import (
	"bytes"
	"context"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// The schema step read from a dump's own data is the one the manifest records.
func testDumpSchemaStep(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	createArgo(t, pg, "argo_step", 17, 30)
	mustExec(t, pg, "argo_step", "INSERT INTO schema_history VALUES (3)")
	pg.CreateDatabase("argo_step_none")
	mustExec(t, pg, "argo_step_none", "CREATE TABLE notes (schema_version int); INSERT INTO notes VALUES (99)")
	createArgo(t, pg, "argo_step_two", 5, 6)
	mustExec(t, pg, "argo_step_two", "CREATE SCHEMA zz; CREATE TABLE zz.schema_history (schema_version int); INSERT INTO zz.schema_history VALUES (40)")
	pg.CreateDatabase("argo_step_text")
	mustExec(t, pg, "argo_step_text", "CREATE TABLE schema_history (schema_version text); INSERT INTO schema_history VALUES ('v2')")
	for _, tc := range []struct {
		db   string
		want *int
	}{
		{"argo_step", ptr(17)},
		{"argo_step_none", nil},
		{"argo_step_two", ptr(5)}, // public's, as the database resolves it
		{"argo_step_text", nil},   // not Argo's table
	} {
		t.Run(tc.db, func(t *testing.T) {
			data, m, _ := backup(t, options(pg, tc.db))
			got, err := DumpSchemaStep(ctx, bytes.NewReader(data), pg.BinDir)
			if err != nil {
				t.Fatal(err)
			}
			if !equalStep(got, tc.want) || !equalStep(got, m.Postgres.SchemaHistoryStep) {
				t.Errorf("step from the dump = %v, want %v (manifest %v)", deref(got), deref(tc.want), deref(m.Postgres.SchemaHistoryStep))
			}
		})
	}
	if _, err := DumpSchemaStep(ctx, bytes.NewReader([]byte("PGDMP garbage")), pg.BinDir); err == nil {
		t.Error("a corrupt dump gave a schema step")
	}
}

func TestCopyMaxStep(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		want      *int
	}{
		{"one", "SET x = 1;\nCOPY public.schema_history (schema_version) FROM stdin;\n17\n\\.\n", ptr(17)},
		{"max and null", "COPY public.schema_history (schema_version) FROM stdin;\n3\n\\N\n19\n7\n\\.\n", ptr(19)},
		{"other columns", "COPY public.schema_history (id, schema_version, at) FROM stdin;\n1\t4\t2024\n2\t9\t2024\n\\.\n", ptr(9)},
		{"public wins", "COPY a.schema_history (schema_version) FROM stdin;\n50\n\\.\nCOPY public.schema_history (schema_version) FROM stdin;\n2\n\\.\n", ptr(2)},
		{"first of others", "COPY a.schema_history (schema_version) FROM stdin;\n50\n\\.\nCOPY b.schema_history (schema_version) FROM stdin;\n60\n\\.\n", ptr(50)},
		{"no such column", "COPY public.schema_history (version) FROM stdin;\n5\n\\.\n", nil},
		{"not integers", "COPY public.schema_history (schema_version) FROM stdin;\nv1\n\\.\n", nil},
		{"empty table", "COPY public.schema_history (schema_version) FROM stdin;\n\\.\n", nil},
		{"no table", "--\n-- PostgreSQL database dump complete\n--\n", nil},
	} {
		if got := copyMaxStep([]byte(tc.sql)); !equalStep(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, deref(got), deref(tc.want))
		}
	}
}

func ptr(n int) *int { return &n }

func equalStep(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *int) any {
	if p == nil {
		return "none"
	}
	return *p
}
