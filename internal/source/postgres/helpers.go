package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RowCounts is the exact row count of every table pg_dump would dump, keyed
// "schema.table" (unquoted), read in one repeatable-read snapshot: the same numbers a
// backup records in its manifest, for drills to compare after a restore.
func RowCounts(ctx context.Context, opts Options) (map[string]int64, error) {
	var out map[string]int64
	err := inSnapshot(ctx, opts, func(tx pgx.Tx) error {
		var err error
		out, err = rowCounts(ctx, tx)
		return err
	})
	return out, err
}

// SchemaStep is the database's Argo schema step (max(schema_version) of schema_history),
// nil when there is no such table or it is empty.
func SchemaStep(ctx context.Context, opts Options) (*int, error) {
	var out *int
	err := inSnapshot(ctx, opts, func(tx pgx.Tx) error {
		var err error
		out, err = schemaStep(ctx, tx)
		return err
	})
	return out, err
}

func inSnapshot(ctx context.Context, opts Options, fn func(pgx.Tx) error) error {
	srv, err := resolve(opts)
	if err != nil {
		return err
	}
	conn, err := srv.connect(ctx, "")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin a read-only transaction: %w", err)
	}
	defer tx.Rollback(context.Background())
	return fn(tx)
}
