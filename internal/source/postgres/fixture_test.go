package postgres

import (
	"context"
	"io"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// createArgo creates database db with an Argo-like schema (see testenv.ArgoSchema).
func createArgo(t *testing.T, pg *testenv.Postgres, db string, step, archived int) {
	t.Helper()
	pg.CreateArgo(db, step, archived)
}

// fingerprint: equal fingerprints mean equal data (see testenv.Postgres.Fingerprint).
func fingerprint(t *testing.T, pg *testenv.Postgres, db string) map[string]string {
	t.Helper()
	return pg.Fingerprint(db)
}

// options reaches db on the test server as its superuser.
func options(pg *testenv.Postgres, db string) Options {
	return Options{
		Host: pg.Host, Port: pg.Port, Database: db, User: pg.User,
		Password: func() (string, error) { return pg.Password, nil },
		SSLMode:  "disable", BinDir: pg.BinDir, Describe: "env:TEST_PGPASSWORD", RowCounts: true,
	}
}

// backup runs a source the way the pipeline does: read the body to the end, Finish, then
// Extras; the body is closed on every path.
func backup(t *testing.T, o Options) ([]byte, *catalog.Manifest, []source.Extra) {
	t.Helper()
	ctx := context.Background()
	src, err := NewSource("workflows", o)
	if err != nil {
		t.Fatal(err)
	}
	art, err := src.Open(ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer art.Body.Close()
	data, err := io.ReadAll(art.Body)
	if err != nil {
		t.Fatalf("read the dump: %v", err)
	}
	m := &catalog.Manifest{}
	if err := art.Finish(ctx, m); err != nil {
		t.Fatalf("finish: %v", err)
	}
	var extras []source.Extra
	if art.Extras != nil {
		if extras, err = art.Extras(ctx); err != nil {
			t.Fatalf("extras: %v", err)
		}
	}
	return data, m, extras
}

func mustExec(t *testing.T, pg *testenv.Postgres, db, sql string) {
	t.Helper()
	conn := pg.Connect(db)
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
