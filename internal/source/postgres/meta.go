package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// querier is a connection or a transaction: metadata is read inside the dump's
// transaction during a backup and on a plain connection after a restore.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

type serverInfo struct {
	version  Version
	database string
	// systemID is pg_control_system()'s system_identifier, "" when the server would not
	// say (before 9.6, or a role it refuses): the backup's lineage is then unknown.
	systemID string
}

// systemIdentifier reads the identifier initdb gives a cluster. It must run outside the
// dump's transaction: a refusal there would abort the snapshot.
func systemIdentifier(ctx context.Context, q querier) (string, error) {
	var id string
	if err := q.QueryRow(ctx, "SELECT system_identifier::text FROM pg_control_system()").Scan(&id); err != nil {
		return "", fmt.Errorf("read the system identifier: %w", err)
	}
	return id, nil
}

func readServer(ctx context.Context, q querier) (serverInfo, error) {
	var text, num, db string
	err := q.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('server_version_num'), current_database()").
		Scan(&text, &num, &db)
	if err != nil {
		return serverInfo{}, fmt.Errorf("read the server version: %w", err)
	}
	v, err := ParseVersion(text)
	if err != nil {
		return serverInfo{}, fmt.Errorf("server version: %w", err)
	}
	if n, err := strconv.Atoi(num); err == nil {
		v.Num = n // authoritative; the text may carry a vendor suffix
	}
	return serverInfo{version: v, database: db}, nil
}

// schemaStepSQL finds Argo Workflows' migration table: schema_history as the search path
// resolves it (Argo creates its tables there), else public.schema_history, and only with
// an integer schema_version column, so an unrelated table of the same name is ignored.
const schemaStepSQL = `
SELECT c.oid::regclass::text
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.oid = coalesce(to_regclass('schema_history'), to_regclass('public.schema_history'))
  AND a.attname = 'schema_version' AND NOT a.attisdropped
  AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)`

// schemaStep is the highest applied Argo schema step, nil without a schema_history table
// (or with an empty one).
func schemaStep(ctx context.Context, q querier) (*int, error) {
	rows, err := q.Query(ctx, schemaStepSQL)
	if err != nil {
		return nil, fmt.Errorf("look for schema_history: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look for schema_history: %w", err)
	}
	if len(tables) == 0 {
		return nil, nil
	}
	var step *int64
	if err := q.QueryRow(ctx, "SELECT max(schema_version)::bigint FROM "+tables[0]).Scan(&step); err != nil {
		return nil, fmt.Errorf("read the schema step from %s: %w", tables[0], err)
	}
	if step == nil {
		return nil, nil
	}
	n := int(*step)
	return &n, nil
}

// tablesSQL lists the tables whose rows pg_dump writes: ordinary (and partition) tables
// outside the system schemas, not temporary, not created by an extension (their data is
// not dumped).
const tablesSQL = `
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2`

// rowCounts is the exact row count of every table, keyed "schema.table" (unquoted).
func rowCounts(ctx context.Context, q querier) (map[string]int64, error) {
	rows, err := q.Query(ctx, tablesSQL)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	type table struct{ schema, name string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.schema, &t.name)
	})
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	// One round trip for all the counts: a workflow database has few tables, but some
	// schemas have thousands.
	b := &pgx.Batch{}
	for _, t := range tables {
		b.Queue("SELECT count(*) FROM " + pgx.Identifier{t.schema, t.name}.Sanitize())
	}
	res := q.SendBatch(ctx, b)
	defer res.Close()
	out := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := res.QueryRow().Scan(&n); err != nil {
			return nil, fmt.Errorf("count the rows of %s.%s: %w", t.schema, t.name, err)
		}
		out[t.schema+"."+t.name] = n
	}
	return out, res.Close()
}
