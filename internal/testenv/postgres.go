package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresMajor is the server version the tests run against.
const PostgresMajor = "15"

// Postgres is a throwaway PostgreSQL cluster (initdb + pg_ctl) listening on 127.0.0.1.
type Postgres struct {
	Host     string
	Port     int
	User     string // superuser
	Password string
	BinDir   string // server and client binaries of PostgresMajor
	DataDir  string

	t      testing.TB
	runAs  []string // runuser prefix when we are root: PostgreSQL refuses to run as root
	logDir string
}

// PostgresBinDir is where Debian installs the server binaries for PostgresMajor.
func PostgresBinDir() string {
	if dir := os.Getenv("LIFEBOAT_PG_BINDIR"); dir != "" {
		return dir
	}
	return "/usr/lib/postgresql/" + PostgresMajor + "/bin"
}

// StartPostgres initialises a cluster with password (scram) auth on TCP and starts it.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	return StartPostgresOn(t, "127.0.0.1")
}

// StartPostgresOn is StartPostgres listening on host; for an address other than 127.0.0.1
// (the test cluster's node address) it also admits password logins from the pod network,
// like a database outside the cluster that the platform's pods reach.
func StartPostgresOn(t testing.TB, host string) *Postgres {
	t.Helper()
	bin := PostgresBinDir()
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		Missing(t, "PostgreSQL %s server binaries are not in %s: run scripts/install-servers.sh postgres", PostgresMajor, bin)
	}
	root := TempDir(t, "postgres")
	p := &Postgres{
		Host:     host,
		Port:     freePortOn(host),
		User:     "postgres",
		Password: "lifeboat-test-pw",
		BinDir:   bin,
		DataDir:  filepath.Join(root, "data"),
		t:        t,
		logDir:   root,
	}
	if os.Geteuid() == 0 {
		p.runAs = []string{"runuser", "-u", "postgres", "--"}
		if _, err := user.Lookup("postgres"); err != nil {
			Missing(t, "running as root needs a postgres system user to run the server: %v", err)
		}
	}
	pwFile := filepath.Join(root, "pwfile")
	if err := os.WriteFile(pwFile, []byte(p.Password+"\n"), 0o644); err != nil {
		t.Fatalf("write pwfile: %v", err)
	}
	p.chownToServer(root)
	p.run("initdb", "-D", p.DataDir, "-U", p.User, "--pwfile", pwFile,
		"--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	_ = os.Remove(pwFile)
	if host != "127.0.0.1" {
		hba, err := os.OpenFile(filepath.Join(p.DataDir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatalf("open pg_hba.conf: %v", err)
		}
		_, err = fmt.Fprintf(hba, "host all all %s/32 scram-sha-256\nhost all all %s scram-sha-256\n", host, PodCIDR)
		hba.Close()
		if err != nil {
			t.Fatalf("write pg_hba.conf: %v", err)
		}
	}
	conf := fmt.Sprintf("\nlisten_addresses = '%s'\nport = %d\nunix_socket_directories = '%s'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 50\n", host, p.Port, root)
	f, err := os.OpenFile(filepath.Join(p.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("open postgresql.conf: %v", err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatalf("write postgresql.conf: %v", err)
	}
	f.Close()
	// Before Start: a server that comes up but fails the connection check (or a pg_ctl
	// that times out after launching it) must still be stopped. Stop tolerates a server
	// that never started.
	t.Cleanup(p.Stop)
	p.Start()
	return p
}

func (p *Postgres) chownToServer(dir string) {
	if p.runAs == nil {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		p.t.Fatalf("lookup postgres user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	_ = filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(path, uid, gid)
		}
		return err
	})
}

func (p *Postgres) run(tool string, args ...string) {
	p.t.Helper()
	argv := append(append([]string{}, p.runAs...), filepath.Join(p.BinDir, tool))
	cmd := exec.Command(argv[0], append(argv[1:], args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

// Start starts the server and waits until it accepts connections.
func (p *Postgres) Start() {
	p.t.Helper()
	p.run("pg_ctl", "-D", p.DataDir, "-l", filepath.Join(p.logDir, "server.log"), "-w", "-t", "60", "start")
	WaitFor(p.t, nil, 30*time.Second, "postgres to accept connections", func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, p.DSN("postgres"))
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
}

// Stop stops the server (fast shutdown). Safe to call when already stopped.
func (p *Postgres) Stop() {
	argv := append(append([]string{}, p.runAs...), filepath.Join(p.BinDir, "pg_ctl"), "-D", p.DataDir, "-m", "fast", "-w", "stop")
	_ = exec.Command(argv[0], argv[1:]...).Run()
}

// DSN is a libpq URL for database db as the superuser.
func (p *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", p.User, p.Password, net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), db)
}

// Connect opens a pgx connection to db, closed at the end of the test.
func (p *Postgres) Connect(db string) *pgx.Conn {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN(db))
	if err != nil {
		p.t.Fatalf("connect to %s: %v", db, err)
	}
	p.t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// CreateDatabase creates an empty database.
func (p *Postgres) CreateDatabase(name string) {
	p.t.Helper()
	conn := p.Connect("postgres")
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		p.t.Fatalf("create database %s: %v", name, err)
	}
}
