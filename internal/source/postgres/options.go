// Package postgres backs up one PostgreSQL database with pg_dump --format=custom and
// restores it with pg_restore. The dump runs in a snapshot exported by lifeboat's own
// transaction, so the row counts and schema step recorded in the manifest describe exactly
// what the dump holds.
package postgres

// Options says how to reach one database and where its client programs are. Secrets are
// functions so they are read when a run starts: operators rotate files and Kubernetes
// Secrets without restarting lifeboat.
type Options struct {
	// DSN is a libpq connection string ("host=db dbname=argo") or URL
	// ("postgres://user:pw@db:5432/argo?sslmode=require"). The fields below, when set,
	// override what it says, so a drill can point the same settings at another database.
	DSN      func() (string, error)
	Host     string
	Port     int // 0 = libpq's default (PGPORT or 5432)
	Database string
	User     string
	// Password nil means none configured: trust, certificates, ~/.pgpass or an inherited
	// PGPASSWORD may still authenticate, exactly as for psql.
	Password    func() (string, error)
	SSLMode     string
	SSLRootCert string

	// Describe names where the password (or the DSN) comes from, e.g.
	// "file:/run/secrets/pg" or "env:PGPASS", for error messages. Never the value.
	Describe string
	// Field is this block's path in the config, for error messages. Default "postgres".
	Field string
	// DSNFlag, when set, is the command-line flag the connection string came from
	// ("--target-dsn") and PasswordFlag the flag naming its password file: messages then
	// name those instead of config fields. BinDir is still read from Field's block.
	DSNFlag, PasswordFlag string

	// BinDir holds pg_dump, pg_dumpall, pg_restore and psql; "" searches PATH.
	BinDir string
	// Globals also dumps roles and tablespaces (pg_dumpall --globals-only) as the backup's
	// globals.sql. It needs a superuser: pg_dumpall reads pg_authid.
	Globals bool
	// RowCounts records the exact row count of every table, read in the dump's snapshot.
	// It reads every table once more (a sequential scan each), so it can be turned off
	// for very large databases.
	RowCounts bool
}

func (o Options) field() string {
	if o.Field != "" {
		return o.Field
	}
	return "postgres"
}
