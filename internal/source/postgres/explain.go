package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// explained is an error whose message says what to do; Unwrap keeps the driver's error
// for errors.As.
type explained struct {
	msg   string
	cause error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.cause }

func explain(cause error, format string, args ...any) error {
	return &explained{msg: fmt.Sprintf(format, args...), cause: cause}
}

// explain turns a connection failure into the config field to fix.
func (s *server) explain(cfg *pgx.ConnConfig, err error) error {
	at, f := addr(cfg), s.opts.field()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return explain(err, "cannot reach PostgreSQL at %s: %v; check %s, network policy and %s.sslMode",
			at, err, s.where("host and port"), f)
	}
	switch pgErr.Code {
	case "28P01": // invalid_password
		if !s.hasPassword {
			return explain(err, "password authentication failed for user %q at %s: no password is configured; set %s",
				cfg.User, at, s.where("password"))
		}
		return explain(err, "password authentication failed for user %q at %s: check %s%s",
			cfg.User, at, s.where("password"), s.from())
	case "28000": // invalid_authorization_specification: no pg_hba.conf entry, or cert auth
		return explain(err, "PostgreSQL at %s does not let user %q connect to database %q: %s; check pg_hba.conf on the server, %s and %s.sslMode",
			at, cfg.User, cfg.Database, pgErr.Message, s.where("user"), f)
	case "3D000": // invalid_catalog_name
		return explain(err, "database %q does not exist on %s: check %s", cfg.Database, at, s.where("database"))
	case "42501": // insufficient_privilege, e.g. no CONNECT on the database
		return explain(err, "user %q may not connect to database %q on %s: %s; GRANT CONNECT to it or check %s",
			cfg.User, cfg.Database, at, pgErr.Message, s.where("user"))
	}
	return explain(err, "PostgreSQL at %s refused the connection for user %q to database %q: %s (SQLSTATE %s)",
		at, cfg.User, cfg.Database, pgErr.Message, pgErr.Code)
}

// where names the config setting to fix: the field when it is set (it overrides the
// DSN), else the DSN when there is one.
func (s *server) where(what string) string {
	o := s.opts
	set := map[string]bool{"host and port": o.Host != "" || o.Port != 0, "database": o.Database != "",
		"user": o.User != "", "password": o.Password != nil}[what]
	switch {
	case o.DSN != nil && !set:
		return "the " + what + " in " + o.field() + ".dsn"
	case what == "host and port":
		return o.field() + ".host and .port"
	}
	return o.field() + "." + what
}
