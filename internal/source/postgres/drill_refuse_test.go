package postgres

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// The drill drops its scratch database: it must refuse one that is the live database,
// however the source names it.
func TestRefuseLive(t *testing.T) {
	t.Setenv("LIVE_DSN", "postgres://argo:pw@db.internal:5432/argo?sslmode=disable")
	t.Setenv("KW_DSN", "host=db.internal dbname=argo sslmode=disable")
	dsnSource := &config.Postgres{DSN: config.Secret{Env: "LIVE_DSN"}}
	fieldSource := &config.Postgres{Host: "db.internal", Database: "argo", SSLMode: "disable"}
	for _, tc := range []struct {
		name    string
		live    *config.Postgres
		target  *config.Postgres // nil: the live server
		scratch string
		refuse  bool
	}{
		{"DSN source, scratch named like the live database", dsnSource, nil, "argo", true},
		{"DSN source, default scratch name", dsnSource, nil, "lifeboat_drill_workflows", false},
		{"fields, scratch named like the live database", fieldSource, nil, "argo", true},
		{"target given by another DSN to the same server", fieldSource, &config.Postgres{DSN: config.Secret{Env: "KW_DSN"}}, "argo", true},
		{"target on another server", dsnSource, &config.Postgres{Host: "scratch.internal", SSLMode: "disable"}, "argo", false},
		{"target on another port", fieldSource, &config.Postgres{Host: "db.internal", Port: 6543, SSLMode: "disable"}, "argo", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &config.Source{Name: "workflows", Postgres: tc.live,
				Drill: &config.Drill{Postgres: &config.PgDrill{Database: tc.scratch, Target: tc.target}}}
			err := newDrill(src, source.Env{}).Prepare(context.Background())
			if tc.refuse != (err != nil) {
				t.Fatalf("drill Prepare = %v, want refused %v", err, tc.refuse)
			}
			if err != nil && !strings.Contains(err.Error(), "set sources[workflows].drill.postgres.database to another name") {
				t.Errorf("message: %v", err)
			}
		})
	}
	// A source whose connection cannot be read is never assumed safe.
	broken := &config.Source{Name: "workflows", Postgres: &config.Postgres{DSN: config.Secret{File: filepath.Join(t.TempDir(), "missing")}},
		Drill: &config.Drill{Postgres: &config.PgDrill{Target: &config.Postgres{Host: "db.internal"}}}}
	if err := newDrill(broken, source.Env{}).Prepare(context.Background()); err == nil || !strings.Contains(err.Error(), "is not touched") {
		t.Errorf("unreadable live DSN: %v", err)
	}
}
