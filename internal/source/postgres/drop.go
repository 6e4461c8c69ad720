package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DropDatabase drops opts.Database on its server if it exists, disconnecting its
// sessions. Drills use it for their scratch database; it refuses without a name.
func DropDatabase(ctx context.Context, opts Options) error {
	srv, err := resolve(opts)
	if err != nil {
		return err
	}
	db := srv.database()
	if db == "" {
		return errors.New("no database named to drop")
	}
	conn, _, err := connectMaintenance(ctx, srv)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", db, err)
	}
	return nil
}
