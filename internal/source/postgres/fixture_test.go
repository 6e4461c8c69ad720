package postgres

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// argoSchema is shaped like Argo Workflows' persistence tables (workflow/persist/sqldb
// migrations), plus a table in a second schema owned by another role, with a sequence.
const argoSchema = `
CREATE TABLE schema_history (schema_version int NOT NULL);
INSERT INTO schema_history VALUES (%d);

CREATE TABLE argo_workflows (
  id varchar(128), name varchar(256), phase varchar(25), namespace varchar(256),
  workflow json, startedat timestamp, finishedat timestamp, clustername varchar(64),
  updatedat timestamp DEFAULT now(),
  PRIMARY KEY (clustername, id));

CREATE TABLE argo_archived_workflows (
  uid varchar(128) NOT NULL, name varchar(256) NOT NULL, phase varchar(25) NOT NULL,
  namespace varchar(256) NOT NULL, workflow json NOT NULL, startedat timestamp NOT NULL,
  finishedat timestamp NOT NULL, clustername varchar(64) NOT NULL, instanceid varchar(64) NOT NULL,
  PRIMARY KEY (clustername, uid));
CREATE INDEX argo_archived_workflows_i1 ON argo_archived_workflows (clustername, instanceid, namespace);
CREATE INDEX argo_archived_workflows_i4 ON argo_archived_workflows (startedat);

CREATE TABLE argo_archived_workflows_labels (
  clustername varchar(64) NOT NULL, uid varchar(128) NOT NULL, name varchar(317) NOT NULL,
  value varchar(63) NOT NULL,
  PRIMARY KEY (clustername, uid, name),
  FOREIGN KEY (clustername, uid) REFERENCES argo_archived_workflows (clustername, uid) ON DELETE CASCADE);

INSERT INTO argo_archived_workflows
SELECT md5('wf' || i)::uuid::text, 'wf-' || i, (ARRAY['Succeeded','Failed','Error'])[1 + i %% 3],
  'ns-' || i %% 7,
  json_build_object(
    'apiVersion', 'argoproj.io/v1alpha1', 'kind', 'Workflow',
    'metadata', json_build_object('name', 'wf-' || i, 'namespace', 'ns-' || i %% 7, 'uid', md5('wf' || i)::uuid,
      'labels', json_build_object('workflows.argoproj.io/completed', 'true', 'team', 't' || i %% 5)),
    'spec', json_build_object('entrypoint', 'main', 'arguments', json_build_object('parameters',
      json_build_array(json_build_object('name', 'n', 'value', i::text))),
      'templates', json_build_array(json_build_object('name', 'main', 'container',
        json_build_object('image', 'alpine:3.20', 'command', json_build_array('sh', '-c', 'echo ' || i || ' ünïcödé'))))),
    'status', json_build_object('phase', (ARRAY['Succeeded','Failed','Error'])[1 + i %% 3], 'progress', '1/1',
      'nodes', json_build_object('wf-' || i, json_build_object('type', 'Pod', 'phase', 'Succeeded',
        'outputs', json_build_object('exitCode', (i %% 2)::text))))),
  timestamp '2024-01-01' + i * interval '1 minute',
  timestamp '2024-01-01' + i * interval '1 minute' + (i %% 600) * interval '1 second',
  'default', ''
FROM generate_series(1, %d) i;

INSERT INTO argo_archived_workflows_labels
SELECT 'default', uid, l.name, l.value
FROM argo_archived_workflows,
  LATERAL (VALUES ('workflows.argoproj.io/completed', 'true'), ('team', 't' || length(name) %% 5)) AS l(name, value);

INSERT INTO argo_workflows (id, name, phase, namespace, workflow, startedat, clustername)
SELECT md5('live' || i)::uuid::text, 'live-' || i, 'Running', 'ns-' || i %% 3,
  json_build_object('metadata', json_build_object('name', 'live-' || i), 'status', json_build_object('phase', 'Running')),
  now() - i * interval '1 second', 'default'
FROM generate_series(1, %d) i;

CREATE SCHEMA audit;
CREATE TABLE audit.events (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), "Note" text);
INSERT INTO audit.events (at, "Note") SELECT timestamptz '2024-01-01' + i * interval '1 hour', 'event ' || i FROM generate_series(1, 500) i;
CREATE VIEW audit.failures AS SELECT name, namespace FROM argo_archived_workflows WHERE phase = 'Failed';
`

// createArgo creates database db with an Argo-like schema at schema step `step` and
// `archived` archived workflows.
func createArgo(t *testing.T, pg *testenv.Postgres, db string, step, archived int) {
	t.Helper()
	pg.CreateDatabase(db)
	conn := pg.Connect(db)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := conn.Exec(ctx, fmt.Sprintf(argoSchema, step, archived, archived/6)); err != nil {
		t.Fatalf("create the Argo schema in %s: %v", db, err)
	}
}

// fingerprint is the row count and an md5 over the sorted text of every row of every
// table, plus the sequences' positions: equal fingerprints mean equal data.
func fingerprint(t *testing.T, pg *testenv.Postgres, db string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn := pg.Connect(db)
	defer conn.Close(ctx)
	counts, err := rowCounts(ctx, conn)
	if err != nil {
		t.Fatalf("row counts of %s: %v", db, err)
	}
	out := map[string]string{}
	for table, n := range counts {
		var sum string
		err := conn.QueryRow(ctx, "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM "+ident(table)+" t").Scan(&sum)
		if err != nil {
			t.Fatalf("checksum %s: %v", table, err)
		}
		out[table] = fmt.Sprintf("%d rows, md5 %s", n, sum)
	}
	var last int64
	if err := conn.QueryRow(ctx, "SELECT last_value FROM audit.events_id_seq").Scan(&last); err == nil {
		out["sequence audit.events_id_seq"] = fmt.Sprint(last)
	}
	return out
}

func ident(table string) string {
	for i := range table {
		if table[i] == '.' {
			return pgx.Identifier{table[:i], table[i+1:]}.Sanitize()
		}
	}
	return pgx.Identifier{table}.Sanitize()
}

// options reaches db on the test server as its superuser.
func options(pg *testenv.Postgres, db string) Options {
	return Options{
		Host: pg.Host, Port: pg.Port, Database: db, User: pg.User,
		Password: func() (string, error) { return pg.Password, nil },
		SSLMode:  "disable", BinDir: pg.BinDir, Describe: "env:TEST_PGPASSWORD", RowCounts: true,
	}
}

// backup runs a source the way the pipeline does: read the body to the end, Finish, then
// Extras; the body is closed on every path.
func backup(t *testing.T, o Options) ([]byte, *catalog.Manifest, []source.Extra) {
	t.Helper()
	ctx := context.Background()
	src, err := NewSource("workflows", o)
	if err != nil {
		t.Fatal(err)
	}
	art, err := src.Open(ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer art.Body.Close()
	data, err := io.ReadAll(art.Body)
	if err != nil {
		t.Fatalf("read the dump: %v", err)
	}
	m := &catalog.Manifest{}
	if err := art.Finish(ctx, m); err != nil {
		t.Fatalf("finish: %v", err)
	}
	var extras []source.Extra
	if art.Extras != nil {
		if extras, err = art.Extras(ctx); err != nil {
			t.Fatalf("extras: %v", err)
		}
	}
	return data, m, extras
}

func mustExec(t *testing.T, pg *testenv.Postgres, db, sql string) {
	t.Helper()
	conn := pg.Connect(db)
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
