package postgres

import (
	"errors"
	"fmt"
	"os"
	"strings"

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

// explain turns a connection failure into the setting to fix.
func (s *server) explain(cfg *pgx.ConnConfig, err error) error {
	at := addr(cfg)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		// pgx's text for a server without ssl = on (src: pgconn.go, startTLS).
		if strings.Contains(err.Error(), "server refused TLS connection") {
			return explain(err, "PostgreSQL at %s does not accept TLS connections, but sslmode %q requires TLS: turn ssl on in the server's postgresql.conf, or set %s to prefer or disable if an unencrypted connection is acceptable",
				at, s.kw["sslmode"], s.where("sslmode"))
		}
		return explain(err, "cannot reach PostgreSQL at %s: %v; check %s, network policy and %s",
			at, err, s.where("host and port"), s.where("sslmode"))
	}
	switch pgErr.Code {
	case "28P01": // invalid_password
		if s.hasPassword {
			return explain(err, "password authentication failed for user %q at %s: check %s%s",
				cfg.User, at, s.where("password"), s.from())
		}
		if from := inheritedPassword(s, cfg); from != "" {
			return explain(err, "password authentication failed for user %q at %s: no password is configured, so the one from the %s was used and the server rejected it; fix it there or set %s",
				cfg.User, at, from, s.where("password"))
		}
		set := s.where("password")
		if s.opts.DSNFlag != "" && s.opts.PasswordFlag != "" {
			set += " or PGPASSWORD"
		}
		return explain(err, "password authentication failed for user %q at %s: no password is configured; set %s",
			cfg.User, at, set)
	case "28000": // invalid_authorization_specification: no pg_hba.conf entry, or cert auth
		return explain(err, "PostgreSQL at %s does not let user %q connect to database %q: %s; check pg_hba.conf on the server, %s and %s",
			at, cfg.User, cfg.Database, pgErr.Message, s.where("user"), s.where("sslmode"))
	case "3D000": // invalid_catalog_name
		return explain(err, "database %q does not exist on %s: check %s", cfg.Database, at, s.where("database"))
	case "42501": // insufficient_privilege, e.g. no CONNECT on the database
		return explain(err, "user %q may not connect to database %q on %s: %s; GRANT CONNECT to it or check %s",
			cfg.User, cfg.Database, at, pgErr.Message, s.where("user"))
	}
	return explain(err, "PostgreSQL at %s refused the connection for user %q to database %q: %s (SQLSTATE %s)",
		at, cfg.User, cfg.Database, pgErr.Message, pgErr.Code)
}

// inheritedPassword names where pgx found a password lifeboat was not given: the
// PGPASSWORD environment variable or a password file (as libpq, and so pg_dump, would).
// "" when it used none.
func inheritedPassword(s *server, cfg *pgx.ConnConfig) string {
	if cfg.Password == "" {
		return ""
	}
	if os.Getenv("PGPASSWORD") != "" {
		return "PGPASSWORD environment variable"
	}
	file := s.kw["passfile"]
	if file == "" {
		file = os.Getenv("PGPASSFILE")
	}
	if file == "" {
		file = "~/.pgpass"
	}
	return "password file " + file
}

// where names the setting to fix. For the config: the field when it is set (it
// overrides the DSN), else the DSN when there is one. For a connection given on the
// command line: that flag, or for the password the flag naming its file.
func (s *server) where(what string) string {
	o := s.opts
	if o.DSNFlag != "" {
		if what == "password" {
			return s.passwordSetting()
		}
		return "the " + what + " in " + o.DSNFlag
	}
	set := map[string]bool{"host and port": o.Host != "" || o.Port != 0, "database": o.Database != "",
		"user": o.User != "", "password": o.Password != nil, "sslmode": o.SSLMode != ""}[what]
	switch {
	case o.DSN != nil && !set:
		return "the " + what + " in " + o.field() + ".dsn"
	case what == "host and port":
		return o.field() + ".host and .port"
	case what == "sslmode":
		return o.field() + ".sslMode"
	}
	return o.field() + "." + what
}

func (s *server) dsnSetting() string {
	if s.opts.DSNFlag != "" {
		return s.opts.DSNFlag
	}
	return s.opts.field() + ".dsn"
}

func (s *server) passwordSetting() string {
	if s.opts.DSNFlag != "" {
		if s.opts.PasswordFlag != "" {
			return s.opts.PasswordFlag
		}
		return "PGPASSWORD"
	}
	return s.opts.field() + ".password"
}
