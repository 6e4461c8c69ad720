package postgres

import (
	"context"
	"testing"
)

func TestSameDatabase(t *testing.T) {
	dsn := func(s string) func() (string, error) { return func() (string, error) { return s, nil } }
	live := Options{DSN: dsn("postgres://argo@db.internal:5432/argo?sslmode=disable")}
	for _, tc := range []struct {
		name string
		a, b Options
		want bool
	}{
		{"DSN source, field with its database", live, Options{DSN: live.DSN, Database: "argo"}, true},
		{"DSN source, another database", live, Options{DSN: live.DSN, Database: "lifeboat_drill_workflows"}, false},
		{"keyword DSN vs URL", live, Options{DSN: dsn("host=DB.internal dbname=argo user=x sslmode=disable")}, true},
		{"default port", live, Options{Host: "db.internal", Database: "argo", SSLMode: "disable"}, true},
		{"other port", live, Options{Host: "db.internal", Port: 5433, Database: "argo", SSLMode: "disable"}, false},
		{"other server", live, Options{Host: "scratch.internal", Database: "argo", SSLMode: "disable"}, false},
		{"one host of a multi-host DSN", Options{DSN: dsn("postgres://a.internal:5432,db.internal:5432/argo?sslmode=disable")}, live, true},
		{"loopback by name and address", Options{Host: "localhost", Database: "argo", SSLMode: "disable"},
			Options{Host: "127.0.0.1", Database: "argo", SSLMode: "disable"}, true},
		{"socket and loopback", Options{Host: "/var/run/postgresql", Database: "argo", SSLMode: "disable"},
			Options{Host: "::1", Database: "argo", SSLMode: "disable"}, true},
		{"database defaults to the user", Options{Host: "db.internal", User: "argo", SSLMode: "disable"}, live, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SameDatabase(context.Background(), tc.a, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("SameDatabase = %v, want %v", got, tc.want)
			}
			if back, _ := SameDatabase(context.Background(), tc.b, tc.a); back != got {
				t.Error("not symmetric")
			}
		})
	}
	if _, err := SameDatabase(context.Background(), Options{DSN: dsn("host='unterminated")}, live); err == nil {
		t.Error("an unparsable DSN compared fine")
	}
}
