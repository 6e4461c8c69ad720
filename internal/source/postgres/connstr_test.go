package postgres

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want settings
	}{
		{"postgres://argo:s3cr%40t@db.example:6543/workflows?sslmode=verify-full&sslrootcert=/ca.pem",
			settings{"user": "argo", "password": "s3cr@t", "host": "db.example", "port": "6543", "dbname": "workflows", "sslmode": "verify-full", "sslrootcert": "/ca.pem"}},
		{"postgresql://a,b:5433/db", settings{"host": "a,b", "port": "5432,5433", "dbname": "db"}},
		{"postgres://[::1]:5432/db", settings{"host": "::1", "port": "5432", "dbname": "db"}},
		{`host = db password='a \'quoted\' pw' user=x\ y`, settings{"host": "db", "password": "a 'quoted' pw", "user": "x y"}},
		{"", settings{}},
	} {
		got, err := parseDSN(tc.in)
		if err != nil {
			t.Errorf("parseDSN(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseDSN(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseDSNErrorsHideThePassword(t *testing.T) {
	for _, in := range []string{
		"password='topsecret", "postgres://u:topsecret@host:notaport/db", "host=x topsecret",
		"password=top topsecret", "password='it''topsecret'", // libpq does not double quotes
	} {
		_, err := parseDSN(in)
		if err == nil {
			t.Errorf("parseDSN(%q) succeeded", in)
			continue
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("parseDSN error shows the secret: %v", err)
		}
	}
}

func TestSettingsStringRoundTrip(t *testing.T) {
	s := settings{"password": `we'ird \ pw`, "host": "db", "dbname": "a b"}
	back, err := parseDSN(s.String())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Fatalf("round trip: %v, want %v", back, s)
	}
}

// The password must only ever reach a child through its environment: command lines are
// world-readable in /proc.
func TestCommandKeepsPasswordOffTheCommandLine(t *testing.T) {
	for name, o := range map[string]Options{
		"dsn":    {DSN: func() (string, error) { return "postgres://argo:hunter2@db:5432/argo?sslmode=require", nil }},
		"fields": {Host: "db", Port: 5432, Database: "argo", User: "argo", Password: func() (string, error) { return "hunter2", nil }},
		"dsn with password field": {DSN: func() (string, error) { return "host=db dbname=argo password=old", nil },
			Password: func() (string, error) { return "hunter2", nil }},
	} {
		srv, err := resolve(o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cmd := srv.command(context.Background(), "/bin/true", "", "--format=custom")
		if line := strings.Join(cmd.Args, " "); strings.Contains(line, "hunter2") || strings.Contains(line, "password") {
			t.Errorf("%s: the command line holds the password: %s", name, line)
		}
		if !strings.Contains(strings.Join(cmd.Args, " "), "dbname='argo'") {
			t.Errorf("%s: no dbname on the command line: %v", name, cmd.Args)
		}
		if last := lastEnv(cmd.Env, "PGPASSWORD"); last != "hunter2" {
			t.Errorf("%s: PGPASSWORD in the child's environment = %q", name, last)
		}
		cfg, err := srv.config("")
		if err != nil || cfg.Password != "hunter2" || cfg.Database != "argo" {
			t.Errorf("%s: pgx config password/database = %q/%q, %v", name, cfg.Password, cfg.Database, err)
		}
	}
}

func lastEnv(env []string, key string) string {
	out := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			out = v
		}
	}
	return out
}

func TestResolveOverridesAndRefusesSSLPassword(t *testing.T) {
	srv, err := resolve(Options{DSN: func() (string, error) { return "host=a dbname=prod keepalives=1", nil }, Database: "drill"})
	if err != nil {
		t.Fatal(err)
	}
	if srv.database() != "drill" {
		t.Errorf("field did not override the DSN: %v", srv.kw)
	}
	cfg, err := srv.config("")
	if err != nil {
		t.Fatal(err)
	}
	if _, leaked := cfg.RuntimeParams["keepalives"]; leaked {
		t.Errorf("a libpq-only keyword would be sent to the server: %v", cfg.RuntimeParams)
	}
	_, err = resolve(Options{DSN: func() (string, error) { return "host=a sslpassword=x", nil }})
	if err == nil || !strings.Contains(err.Error(), "sslpassword is not supported") {
		t.Errorf("sslpassword: %v", err)
	}
}
