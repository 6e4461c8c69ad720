package postgres

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// A role with pg_read_all_data (the grant the docs recommend) cannot read large objects:
// pg_dump fails, and the error names the grant that fixes it. The grant the docs give,
// run as it stands, makes the next backup work.
func testLargeObjects(t *testing.T, pg *testenv.Postgres) {
	pg.CreateDatabase("argo_lo")
	mustExec(t, pg, "argo_lo", `CREATE TABLE argo_workflows (id text PRIMARY KEY);
		INSERT INTO argo_workflows VALUES ('wf-1');
		SELECT lo_from_bytea(0, 'a large object'), lo_from_bytea(0, 'another one')`)
	mustExec(t, pg, "postgres", `CREATE ROLE lifeboat_lo LOGIN PASSWORD 'lo-reader-pw';
		GRANT CONNECT ON DATABASE argo_lo TO lifeboat_lo;
		GRANT pg_read_all_data TO lifeboat_lo`)
	o := options(pg, "argo_lo")
	o.User, o.Password = "lifeboat_lo", func() (string, error) { return "lo-reader-pw", nil }

	ctx := context.Background()
	src, err := NewSource("workflows", o)
	if err != nil {
		t.Fatal(err)
	}
	art, err := src.Open(ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	_, _ = io.Copy(io.Discard, art.Body)
	err = art.Finish(ctx, &catalog.Manifest{})
	art.Body.Close()
	if err == nil {
		t.Fatal("pg_dump read the large objects without a grant: the docs' warning is wrong")
	}
	for _, w := range []string{"permission denied for large object", `role "lifeboat_lo" may not read the database's large objects`,
		`GRANT SELECT ON LARGE OBJECT <oid> TO "lifeboat_lo"`, "docs/workflows-backup-restore.md"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}

	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "workflows-backup-restore.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```sql\n(.*?pg_largeobject_metadata.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/workflows-backup-restore.md has no SQL granting the large objects")
	}
	mustExec(t, pg, "argo_lo", strings.ReplaceAll(string(m[1]), " TO lifeboat", " TO lifeboat_lo"))
	_, man, _ := backup(t, o)
	if man.Postgres == nil || man.Postgres.TableRowCounts["public.argo_workflows"] != 1 {
		t.Errorf("after the docs' grant: manifest %+v", man.Postgres)
	}
	assertNoSessions(t, pg, "argo_lo")
}
