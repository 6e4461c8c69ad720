package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// argoWorkflowsSQL creates bench_argo_workflows(first, last), which generates one
// archived Argo workflow per number, as compact JSON shaped like what Argo's workflow
// archive stores: metadata with labels, annotations and managedFields; a spec that refers
// to a WorkflowTemplate; and a status with the stored templates and spec, the artifact
// repository, and a DAG fanned out to 3-47 shards, each with a Retry node and a Pod node
// (inputs, outputs with a sha256 digest and artifact keys, host, resource durations, a
// message on failure). Documents are 10-130 KB, about 60 KB on average, and vary per
// workflow (names, ids, times, counts, digests) the way real ones do; one in five
// workflows failed. The function is dropped once the data is generated.
const argoWorkflowsSQL = `CREATE FUNCTION bench_argo_workflows(first bigint, last bigint)
RETURNS TABLE (uid text, name text, template text, phase text, namespace text, workflow json, startedat timestamp, finishedat timestamp)
LANGUAGE sql AS $fn$
WITH w AS (
  SELECT i,
    tmpl,
    tmpl || '-' || substr(md5('n' || i), 1, 5) AS name,
    md5('wf' || i)::uuid::text AS uid,
    'team-' || lpad((i % 12)::text, 2, '0') AS ns,
    CASE WHEN i % 20 < 16 THEN 'Succeeded' WHEN i % 20 < 19 THEN 'Failed' ELSE 'Error' END AS phase,
    timestamp '2025-01-01' + i * interval '37 seconds' AS started,
    3 + abs(hashint8(i)) % 45 AS shards,
    'v2.' || (i / 5000) % 30 || '.' || i % 7 AS tag
  FROM generate_series(first, last) i,
    LATERAL (SELECT (ARRAY['etl-nightly','ml-train','report-gen','data-sync','image-build','backfill'])[1 + i % 6] AS tmpl) t
),
s AS (
  SELECT w.i, k, w.name,
    w.name || '-' || (1000000000 + abs(hashtext(w.name || 'p' || k)::bigint) % 9000000000)::text AS pod,
    w.name || '-' || (1000000000 + abs(hashtext(w.name || 'r' || k)::bigint) % 9000000000)::text AS retry,
    CASE WHEN w.phase <> 'Succeeded' AND k = 1 THEN 'Failed' ELSE 'Succeeded' END AS phase,
    w.started + interval '40 seconds' + (k % 8) * interval '3 seconds' AS st,
    30 + abs(hashint8(w.i * 100 + k)) % 900 AS secs,
    w.ns
  FROM w, generate_series(1, w.shards) k
),
nodes AS (
  SELECT s.i,
    string_agg(format(
      '"%1$s":{"id":"%1$s","name":"%2$s.process(%3$s:shard-%3$s)","displayName":"process(%3$s:shard-%3$s)","type":"Retry","templateName":"process-shard","templateScope":"local/%2$s","phase":"%4$s","boundaryID":"%2$s","startedAt":"%5$s","finishedAt":"%6$s","progress":"1/1","resourcesDuration":{"cpu":%7$s,"memory":%8$s},"inputs":{"parameters":[{"name":"shard","value":"%3$s"},{"name":"input-prefix","value":"s3://data-lake/raw/%9$s/%10$s/part-%3$s/"},{"name":"batch-size","value":"5000"}]},"outputs":{"parameters":[{"name":"rows","value":"%11$s","valueFrom":{"path":"/tmp/rows"}}],"artifacts":[{"name":"result","s3":{"key":"%9$s/%2$s/%12$s/result.parquet.tgz"}},{"name":"main-logs","s3":{"key":"%9$s/%2$s/%12$s/main.log"}}],"exitCode":"%13$s"},"children":["%12$s"]},'
      '"%12$s":{"id":"%12$s","name":"%2$s.process(%3$s:shard-%3$s)(0)","displayName":"process(%3$s:shard-%3$s)(0)","type":"Pod","templateName":"process-shard","templateScope":"local/%2$s","phase":"%4$s",%14$s"boundaryID":"%2$s","startedAt":"%5$s","finishedAt":"%6$s","progress":"1/1","resourcesDuration":{"cpu":%7$s,"memory":%8$s},"nodeFlag":{"retried":true},"inputs":{"parameters":[{"name":"shard","value":"%3$s"},{"name":"input-prefix","value":"s3://data-lake/raw/%9$s/%10$s/part-%3$s/"},{"name":"batch-size","value":"5000"}]},"outputs":{"parameters":[{"name":"rows","value":"%11$s","valueFrom":{"path":"/tmp/rows"}},{"name":"digest","value":"sha256:%16$s","valueFrom":{"path":"/tmp/out/digest"}}],"artifacts":[{"name":"result","s3":{"key":"%9$s/%2$s/%12$s/result.parquet.tgz"}},{"name":"main-logs","s3":{"key":"%9$s/%2$s/%12$s/main.log"}}],"exitCode":"%13$s"},"hostNodeName":"ip-10-0-%15$s.eu-west-1.compute.internal"}',
      s.retry, s.name, s.k, s.phase,
      to_char(s.st, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), to_char(s.st + s.secs * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      s.secs * 2, s.secs * 1870, s.ns, to_char(s.st, 'YYYY/MM/DD'), abs(hashint8(s.i * 1000 + s.k)) % 2000000,
      s.pod, CASE WHEN s.phase = 'Failed' THEN '1' ELSE '0' END,
      CASE WHEN s.phase = 'Failed' THEN '"message":"Error (exit code 1): failed to read s3://data-lake/raw/part-1/: SlowDown: Please reduce your request rate.",' ELSE '' END,
      (abs(hashint8(s.i + s.k)) % 64) || '-' || (abs(hashint8(s.i * 7 + s.k)) % 250),
      encode(sha256((s.i || '/' || s.k)::bytea), 'hex')
    ), ',' ORDER BY s.k) AS json,
    string_agg('"' || s.retry || '"', ',' ORDER BY s.k) AS children,
    string_agg('"' || s.pod || '":true', ',' ORDER BY s.k) AS results,
    string_agg('"' || s.pod || '"', ',' ORDER BY s.k) AS outbound,
    max(s.st + s.secs * interval '1 second') AS done,
    sum(s.secs) AS cpu
  FROM s GROUP BY s.i
)
SELECT w.uid, w.name, w.tmpl, w.phase, w.ns, format(
  '{"metadata":{"name":"%1$s","generateName":"%2$s-","namespace":"%3$s","uid":"%4$s","resourceVersion":"%5$s","generation":%6$s,"creationTimestamp":"%7$s","labels":{"workflows.argoproj.io/archive-strategy":"true","workflows.argoproj.io/completed":"true","workflows.argoproj.io/cron-workflow":"%2$s","workflows.argoproj.io/phase":"%8$s","workflows.argoproj.io/workflow-template":"%2$s","workflows.argoproj.io/creator":"system-serviceaccount-argo-argo-server","team":"%3$s"},"annotations":{"workflows.argoproj.io/pod-name-format":"v2","workflows.argoproj.io/scheduled-time":"%7$s"},"managedFields":[{"manager":"workflow-controller","operation":"Update","apiVersion":"argoproj.io/v1alpha1","time":"%9$s","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:workflows.argoproj.io/completed":{},"f:workflows.argoproj.io/phase":{}}},"f:status":{}}}]},'
  '"spec":{"arguments":{"parameters":[{"name":"date","value":"%10$s"},{"name":"source","value":"s3://data-lake/raw/%3$s"}]},"workflowTemplateRef":{"name":"%2$s"},"podGC":{"strategy":"OnPodSuccess"},"ttlStrategy":{"secondsAfterCompletion":86400},"archiveLogs":true,"serviceAccountName":"argo-workflow"},'
  '"status":{"phase":"%8$s","startedAt":"%7$s","finishedAt":"%9$s","progress":"%11$s/%11$s","nodes":{"%1$s":{"id":"%1$s","name":"%1$s","displayName":"%1$s","type":"DAG","templateName":"main","templateScope":"local/%1$s","phase":"%8$s","startedAt":"%7$s","finishedAt":"%9$s","progress":"%11$s/%11$s","resourcesDuration":{"cpu":%12$s,"memory":%13$s},"children":[%14$s],"outboundNodes":[%19$s]},%15$s},'
  '"storedTemplates":{"namespaced/%2$s/main":%16$s,"namespaced/%2$s/process-shard":%17$s},'
  '"conditions":[{"type":"PodRunning","status":"False"},{"type":"Completed","status":"True"}],"resourcesDuration":{"cpu":%12$s,"memory":%13$s},"storedWorkflowTemplateSpec":{"templates":[%16$s,%17$s],"entrypoint":"main","arguments":{"parameters":[{"name":"date","value":"%10$s"},{"name":"source","value":"s3://data-lake/raw/%3$s"}]},"serviceAccountName":"argo-workflow","podGC":{"strategy":"OnPodSuccess"},"ttlStrategy":{"secondsAfterCompletion":86400},"workflowTemplateRef":{"name":"%2$s"}},'
  '"artifactRepositoryRef":{"configMap":"artifact-repositories","key":"default-v1","namespace":"%3$s","artifactRepository":{"archiveLogs":true,"s3":{"endpoint":"s3.amazonaws.com","bucket":"argo-artifacts-%3$s","region":"eu-west-1","insecure":false,"keyFormat":"{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}","accessKeySecret":{"name":"argo-artifacts","key":"accesskey"},"secretKeySecret":{"name":"argo-artifacts","key":"secretkey"}}}},"artifactGCStatus":{"notSpecified":true},"taskResultsCompletionStatus":{%18$s}}}',
  w.name, w.tmpl, w.ns, w.uid, 180000000 + w.i * 13, 2 + w.i % 5,
  to_char(w.started, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), w.phase, to_char(n.done, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  to_char(w.started, 'YYYY-MM-DD'), w.shards, n.cpu * 2, n.cpu * 1870, n.children, n.json,
  format('{"name":"main","inputs":{},"outputs":{},"metadata":{},"dag":{"tasks":[{"name":"process","template":"process-shard","arguments":{"parameters":[{"name":"shard","value":"{{item}}"},{"name":"input-prefix","value":"{{workflow.parameters.source}}/{{workflow.parameters.date}}/part-{{item}}/"},{"name":"batch-size","value":"5000"}]},"withSequence":{"count":"%s"}}]}}', w.shards),
  format('{"name":"process-shard","inputs":{"parameters":[{"name":"shard"},{"name":"input-prefix"},{"name":"batch-size","default":"5000"}]},"outputs":{"parameters":[{"name":"rows","valueFrom":{"path":"/tmp/rows"}}],"artifacts":[{"name":"result","path":"/tmp/out/result.parquet"}]},"metadata":{"labels":{"app.kubernetes.io/part-of":"%1$s"}},"container":{"name":"","image":"ghcr.io/acme/%1$s:%2$s","command":["/usr/local/bin/process"],"args":["--shard={{inputs.parameters.shard}}","--input={{inputs.parameters.input-prefix}}","--batch-size={{inputs.parameters.batch-size}}","--out=/tmp/out/result.parquet"],"env":[{"name":"AWS_REGION","value":"eu-west-1"},{"name":"LOG_LEVEL","value":"info"},{"name":"DB_HOST","value":"warehouse.%3$s.svc.cluster.local"},{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"warehouse","key":"password"}}}],"resources":{"limits":{"cpu":"2","memory":"4Gi"},"requests":{"cpu":"500m","memory":"1Gi"}},"volumeMounts":[{"name":"scratch","mountPath":"/tmp/out"}]},"volumes":[{"name":"scratch","emptyDir":{"sizeLimit":"10Gi"}}],"retryStrategy":{"limit":"3","retryPolicy":"OnFailure","backoff":{"duration":"30s","factor":2,"maxDuration":"10m"}},"activeDeadlineSeconds":3600}', w.tmpl, w.tag, w.ns),
  n.results, n.outbound
)::json, w.started, n.done
FROM w JOIN nodes n ON n.i = w.i
$fn$;`

// insertArchivedSQL archives the workflows first..last ($1..$2) with six labels each, as
// the Argo server does.
const insertArchivedSQL = `
WITH ins AS (
  INSERT INTO argo_archived_workflows (uid, name, phase, namespace, workflow, startedat, finishedat, clustername, instanceid)
  SELECT uid, name, phase, namespace, workflow, startedat, finishedat, 'default', ''
  FROM bench_argo_workflows($1, $2)
  RETURNING uid, name, phase, namespace)
INSERT INTO argo_archived_workflows_labels (clustername, uid, name, value)
SELECT 'default', ins.uid, l.name, l.value
FROM ins, LATERAL (VALUES
  ('workflows.argoproj.io/archive-strategy', 'true'),
  ('workflows.argoproj.io/completed', 'true'),
  ('workflows.argoproj.io/phase', ins.phase),
  ('workflows.argoproj.io/workflow-template', regexp_replace(ins.name, '-[a-z0-9]{5}$', '')),
  ('workflows.argoproj.io/creator', 'system-serviceaccount-argo-argo-server'),
  ('team', ins.namespace)) AS l(name, value)`

// insertLiveSQL adds running workflows ($1..$2) to argo_workflows.
const insertLiveSQL = `
INSERT INTO argo_workflows (id, name, phase, namespace, workflow, startedat, clustername)
SELECT uid, name, 'Running', namespace, workflow, startedat, 'default' FROM bench_argo_workflows($1, $2)`

// argoBatch is how many workflows one INSERT generates: about 60 MB of JSON, 10 MB
// stored (PostgreSQL compresses the TOASTed documents about 6 times with pglz).
const argoBatch = 1000

// argoData describes the generated database.
type argoData struct {
	dbBytes                int64 // pg_database_size
	archived, labels, live int64 // rows
	archivedBytes          int64 // pg_total_relation_size of argo_archived_workflows
	avgJSON, avgStored     int64 // per archived workflow, over a sample: text and stored (compressed) bytes
	minJSON, maxJSON       int64
	generated              time.Duration
}

// growArgo creates database db with the Argo-like schema of internal/testenv (schema step
// 17) and fills it with generated workflows until pg_database_size reaches wantMiB, in
// batches on two connections, then adds running workflows (1% of the archived ones),
// vacuums and analyzes it (so that no dump pays for setting hint bits) and checkpoints.
func growArgo(b *testing.B, pg *testenv.Postgres, db string, wantMiB int) argoData {
	b.Helper()
	start := time.Now()
	pg.CreateArgo(db, 17, 0) // the schema, schema_history and the audit schema; no workflows
	conns := []*pgx.Conn{pg.Connect(db), pg.Connect(db)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	main := conns[0]
	if _, err := main.Exec(ctx, argoWorkflowsSQL); err != nil {
		b.Fatalf("create the workflow generator: %v", err)
	}
	dbSize := func() int64 {
		var n int64
		if err := main.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
			b.Fatalf("pg_database_size: %v", err)
		}
		return n
	}

	want := int64(wantMiB) << 20
	empty := dbSize()
	next := int64(1)
	for size := empty; size < want; size = dbSize() {
		// Aim at the target from what a workflow has cost so far (a guess at first),
		// in rounds of at most 16 batches, so the last round overshoots by little.
		perWorkflow := int64(10 << 10)
		if next > 1 {
			perWorkflow = max(1, (size-empty)/(next-1))
		}
		batches := min(16, ((want-size)/perWorkflow)/argoBatch+1)
		if err := inBatches(ctx, conns, insertArchivedSQL, next, batches); err != nil {
			b.Fatalf("generate archived workflows: %v", err)
		}
		next += batches * argoBatch
	}
	archived := next - 1
	live := max(20, archived/100)
	if _, err := main.Exec(ctx, insertLiveSQL, int64(1_000_000_000), int64(1_000_000_000)+live-1); err != nil {
		b.Fatalf("generate live workflows: %v", err)
	}
	for _, q := range []string{"DROP FUNCTION bench_argo_workflows", "VACUUM (ANALYZE)", "CHECKPOINT"} {
		if _, err := main.Exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}

	d := argoData{dbBytes: dbSize(), generated: time.Since(start)}
	err := main.QueryRow(ctx, `SELECT (SELECT count(*) FROM argo_archived_workflows), (SELECT count(*) FROM argo_archived_workflows_labels),
		(SELECT count(*) FROM argo_workflows), pg_total_relation_size('argo_archived_workflows')`).Scan(&d.archived, &d.labels, &d.live, &d.archivedBytes)
	if err == nil {
		err = main.QueryRow(ctx, `SELECT avg(octet_length(workflow::text))::bigint, avg(pg_column_size(workflow))::bigint,
			min(octet_length(workflow::text)), max(octet_length(workflow::text))
			FROM (SELECT workflow FROM argo_archived_workflows ORDER BY clustername, uid LIMIT 2000) s`).Scan(&d.avgJSON, &d.avgStored, &d.minJSON, &d.maxJSON)
	}
	if err != nil {
		b.Fatalf("describe the generated database: %v", err)
	}
	return d
}

// inBatches runs query for `batches` batches of argoBatch workflows from first on, one
// batch at a time per connection.
func inBatches(ctx context.Context, conns []*pgx.Conn, query string, first, batches int64) error {
	todo := make(chan int64, batches)
	for i := range batches {
		todo <- first + i*argoBatch
	}
	close(todo)
	errs := make(chan error, len(conns))
	var wg sync.WaitGroup
	for _, conn := range conns {
		wg.Go(func() {
			for from := range todo {
				if _, err := conn.Exec(ctx, query, from, from+argoBatch-1); err != nil {
					errs <- fmt.Errorf("workflows %d-%d: %w", from, from+argoBatch-1, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
