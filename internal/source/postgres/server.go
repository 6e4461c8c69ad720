package postgres

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lifeboat-backup/lifeboat/internal/childenv"
)

// server is one resolved connection. The password is kept apart from the keywords so it
// only ever travels inside pgx or in a child's PGPASSWORD: a command line is readable by
// every user of the host in /proc/<pid>/cmdline.
type server struct {
	kw          settings // never holds "password"
	password    string
	hasPassword bool
	opts        Options
}

// libpqOnly are keywords libpq understands but pgx would send to the server as runtime
// parameters (which the server rejects); they still reach the client programs.
var libpqOnly = []string{
	"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
	"tcp_user_timeout", "hostaddr", "gssencmode", "gsslib", "gssdelegation", "requirepeer",
	"requiressl", "sslcompression", "sslcrl", "sslcrldir", "ssl_min_protocol_version",
	"ssl_max_protocol_version", "load_balance_hosts", "fallback_application_name", "replication",
}

// resolve reads the secrets and merges the DSN with the fields that override it.
func resolve(o Options) (*server, error) {
	s := &server{kw: settings{}, opts: o}
	if o.DSN != nil {
		dsn, err := o.DSN()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.dsnSetting(), err)
		}
		if s.kw, err = parseDSN(dsn); err != nil {
			return nil, fmt.Errorf("%s%s: %w", s.dsnSetting(), s.from(), err)
		}
	}
	for k, v := range map[string]string{"host": o.Host, "dbname": o.Database, "user": o.User,
		"sslmode": o.SSLMode, "sslrootcert": o.SSLRootCert} {
		if v != "" {
			s.kw[k] = v
		}
	}
	if o.Port != 0 {
		s.kw["port"] = strconv.Itoa(o.Port)
	}
	if pw, ok := s.kw["password"]; ok {
		s.password, s.hasPassword = pw, true
		delete(s.kw, "password")
	}
	if o.Password != nil {
		pw, err := o.Password()
		if err != nil {
			return nil, fmt.Errorf("%s%s: %w", s.passwordSetting(), s.from(), err)
		}
		s.password, s.hasPassword = pw, true
	}
	if _, ok := s.kw["sslpassword"]; ok {
		// libpq has no environment variable for it, so pg_dump could only get it on its
		// command line.
		return nil, fmt.Errorf("%s: sslpassword is not supported (pg_dump would show it on its command line); use an unencrypted client key protected by file permissions", o.field())
	}
	return s, nil
}

func (s *server) from() string {
	if s.opts.Describe == "" {
		return ""
	}
	return " (" + s.opts.Describe + ")"
}

// database is the configured database name ("" when libpq's default applies).
func (s *server) database() string { return s.kw["dbname"] }

// with returns the keywords for database db ("" keeps the configured one).
func (s *server) with(db string) settings {
	kw := s.kw.clone()
	if db != "" {
		kw["dbname"] = db
	}
	return kw
}

// config is the pgx configuration for database db ("" = the configured one).
func (s *server) config(db string) (*pgx.ConnConfig, error) {
	kw := s.with(db)
	for _, k := range libpqOnly {
		delete(kw, k)
	}
	if s.hasPassword {
		kw["password"] = s.password
	}
	cfg, err := pgx.ParseConfig(kw.String())
	if err != nil {
		return nil, fmt.Errorf("%s connection settings: %w", s.opts.field(), err)
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "lifeboat" // visible in pg_stat_activity
	}
	return cfg, nil
}

// connect opens a pgx connection to database db ("" = the configured one) and turns the
// usual failures into what to check.
func (s *server) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := s.config(db)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		// Without one a blackholed address holds the run until the schedule's own timeout.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, s.explain(cfg, err)
	}
	return conn, nil
}

func addr(cfg *pgx.ConnConfig) string {
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// command prepares a client program connecting to database db ("" = the configured one):
// connection keywords go on the command line as --dbname, the password only into the
// child's environment.
func (s *server) command(ctx context.Context, tool, db string, args ...string) *exec.Cmd {
	if kw := s.with(db); len(kw) > 0 {
		args = append(args, "--dbname="+kw.String())
	}
	cmd := newCommand(ctx, tool, args...)
	if s.hasPassword {
		cmd.Env = childenv.Env(childenv.Libpq, "PGPASSWORD="+s.password)
	}
	return cmd
}

// newCommand prepares a client program that ends with ctx (see setProcAttr), with the
// minimal environment of a child (childenv): the base and libpq's variables.
func newCommand(ctx context.Context, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = childenv.Env(childenv.Libpq)
	// A program killed on cancellation must not keep the run waiting on pipes held by
	// anything it started.
	cmd.WaitDelay = 10 * time.Second
	setProcAttr(cmd)
	return cmd
}
