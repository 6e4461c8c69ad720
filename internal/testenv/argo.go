package testenv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// argoSchema is shaped like Argo Workflows' persistence tables (workflow/persist/sqldb
// migrations), plus a table in a second schema owned by another role, with a sequence.
const ArgoSchema = `
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

// CreateArgo creates database db with an Argo-like schema at schema step `step`, with
// `archived` archived workflows (two labels each) and archived/6 live ones.
func (p *Postgres) CreateArgo(db string, step, archived int) {
	p.t.Helper()
	p.CreateDatabase(db)
	conn := p.Connect(db)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := conn.Exec(ctx, fmt.Sprintf(ArgoSchema, step, archived, archived/6)); err != nil {
		p.t.Fatalf("create the Argo schema in %s: %v", db, err)
	}
}

// Fingerprint is, per user table, the row count and an md5 over the sorted text of every
// row, plus the position of audit.events_id_seq: equal fingerprints mean equal data.
func (p *Postgres) Fingerprint(db string) map[string]string {
	p.t.Helper()
	ctx := context.Background()
	conn := p.Connect(db)
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)
	if err != nil {
		p.t.Fatalf("list tables of %s: %v", db, err)
	}
	var tables []string
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			p.t.Fatal(err)
		}
		tables = append(tables, schema+"."+name)
	}
	if err := rows.Err(); err != nil {
		p.t.Fatal(err)
	}
	out := map[string]string{}
	for _, table := range tables {
		schema, name, _ := strings.Cut(table, ".")
		var n int64
		var sum string
		q := "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM " + pgx.Identifier{schema, name}.Sanitize() + " t"
		if err := conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			p.t.Fatalf("checksum %s: %v", table, err)
		}
		out[table] = fmt.Sprintf("%d rows, md5 %s", n, sum)
	}
	var last int64
	if err := conn.QueryRow(ctx, "SELECT last_value FROM audit.events_id_seq").Scan(&last); err == nil {
		out["sequence audit.events_id_seq"] = fmt.Sprint(last)
	}
	return out
}
