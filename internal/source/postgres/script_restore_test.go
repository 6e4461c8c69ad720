package postgres

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// TestScriptRestore runs the script-mode scenarios on a server of their own: the
// fingerprints hold a connection each until the server's test ends, and TestPostgres's
// scenarios already use most of the test server's max_connections.
func TestScriptRestore(t *testing.T) {
	pg := testenv.StartPostgres(t)
	t.Run("Forced", func(t *testing.T) { testScriptRestore(t, pg) })
	t.Run("NewerClient", func(t *testing.T) { testScriptNewerClient(t, pg) })
}

// trickyObjects puts the preamble's line, `SET transaction_timeout = 0;`, where the
// filter must not touch it: as a whole line of COPY data and inside a function body.
const trickyObjects = `CREATE TABLE notes (line text);
INSERT INTO notes VALUES ('SET transaction_timeout = 0;'), ('SET transaction_timeout = 0;');
CREATE FUNCTION tt() RETURNS text LANGUAGE sql AS $f$ SELECT '
SET transaction_timeout = 0;
'::text $f$;`

const trickyResult = "\nSET transaction_timeout = 0;\n"

func checkTricky(t *testing.T, pg *testenv.Postgres, db string) {
	t.Helper()
	conn := pg.Connect(db)
	defer conn.Close(context.Background())
	var got string
	if err := conn.QueryRow(context.Background(), "SELECT tt()").Scan(&got); err != nil || got != trickyResult {
		t.Errorf("the restored function tt() returns %q, %v; want %q", got, err, trickyResult)
	}
}

// The script mode (pg_restore --file=- | filter | psql), forced with the host's
// PostgreSQL 15 client and server: the Argo-like database comes back exactly, into a
// missing database and over an existing one; a failing restore (a truncated dump, an
// unreadable backup, a statement the server rejects, a cancelled run) leaves the target
// as it was and says so.
func testScriptRestore(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	createArgo(t, pg, "argo_script", 17, 600)
	mustExec(t, pg, "argo_script", trickyObjects)
	// A large object: in a script without --single-transaction pg_restore would commit
	// it in a block of its own.
	mustExec(t, pg, "argo_script", "SELECT lo_from_bytea(0, 'large object')")
	before := fingerprint(t, pg, "argo_script")
	data, m, _ := backup(t, options(pg, "argo_script"))
	script := func(db string) RestoreOptions {
		return RestoreOptions{Target: options(pg, db), DumpSchemaStep: m.Postgres.SchemaHistoryStep, Log: quiet, viaScript: true}
	}

	mustExec(t, pg, "postgres", "DROP DATABASE argo_script WITH (FORCE)")
	var logs bytes.Buffer
	opts := script("argo_script")
	opts.Log = slog.New(slog.NewTextHandler(&logs, nil))
	if err := Restore(ctx, bytes.NewReader(data), opts); err != nil {
		t.Fatalf("script-mode restore into a missing database: %v", err)
	}
	if !strings.Contains(logs.String(), "restoring through psql") || !strings.Contains(logs.String(), "created it") {
		t.Errorf("log of the script-mode restore:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "left out of pg_restore's preamble") {
		t.Errorf("pg_restore 15 into server 15: something was left out:\n%s", logs.String())
	}
	if after := fingerprint(t, pg, "argo_script"); !reflect.DeepEqual(after, before) {
		t.Errorf("restored data differs:\nbefore %v\nafter  %v", before, after)
	}
	checkTricky(t, pg, "argo_script")
	counts, err := RowCounts(ctx, options(pg, "argo_script"))
	if err != nil || !reflect.DeepEqual(counts, m.Postgres.TableRowCounts) {
		t.Errorf("row counts after the restore = %v, %v; the manifest has %v", counts, err, m.Postgres.TableRowCounts)
	}
	var lo string
	conn := pg.Connect("argo_script")
	if err := conn.QueryRow(ctx, "SELECT convert_from(lo_get(oid), 'UTF8') FROM pg_largeobject_metadata").Scan(&lo); err != nil || lo != "large object" {
		t.Errorf("large object after the restore: %q, %v", lo, err)
	}
	conn.Close(ctx)

	// Over the existing database: its changes are replaced.
	mustExec(t, pg, "argo_script", "DELETE FROM argo_archived_workflows WHERE phase = 'Error'; INSERT INTO audit.events (\"Note\") VALUES ('extra'); DELETE FROM notes")
	if err := Restore(ctx, bytes.NewReader(data), script("argo_script")); err != nil {
		t.Fatalf("script-mode restore over the existing database: %v", err)
	}
	if after := fingerprint(t, pg, "argo_script"); !reflect.DeepEqual(after, before) {
		t.Errorf("data after restoring over the database differs:\nbefore %v\nafter  %v", before, after)
	}

	// Failures leave the target as it was.
	mustExec(t, pg, "argo_script", "INSERT INTO audit.events (\"Note\") VALUES ('kept')")
	kept := fingerprint(t, pg, "argo_script")
	unchanged := func(what string) {
		t.Helper()
		if after := fingerprint(t, pg, "argo_script"); !reflect.DeepEqual(after, kept) {
			t.Errorf("%s changed the target:\nbefore %v\nafter  %v", what, kept, after)
		}
		assertNoScriptLeft(t, pg, "argo_script")
	}
	rolledBack := `rolled back: pg_restore runs in one transaction, so database "argo_script" is as it was`

	// A dump cut off: pg_restore fails after psql ran part of its script.
	err = Restore(ctx, bytes.NewReader(data[:len(data)*2/3]), script("argo_script"))
	if err == nil || !strings.Contains(err.Error(), "pg_restore failed") || !strings.Contains(err.Error(), rolledBack) {
		t.Errorf("script-mode restore of a truncated dump: %v", err)
	}
	unchanged("a truncated dump")

	// A backup that cannot be read to the end.
	broken := io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(errors.New("age: chunk authentication failed")))
	err = Restore(ctx, broken, script("argo_script"))
	if err == nil || !strings.Contains(err.Error(), "reading the backup for pg_restore: age: chunk authentication failed") || !strings.Contains(err.Error(), rolledBack) {
		t.Errorf("script-mode restore from a failing reader: %v", err)
	}
	unchanged("an unreadable backup")

	// A dump from a newer pg_dump: pg_restore's refusal is explained as in the direct mode.
	newer := bytes.Clone(data)
	newer[5], newer[6] = 1, 16
	err = Restore(ctx, bytes.NewReader(newer), script("argo_script"))
	if err == nil || !strings.Contains(err.Error(), "the dump is in archive format 1.16, written by pg_dump 17 or newer, which pg_restore "+testenv.PostgresMajor+".") {
		t.Errorf("script-mode restore of a dump from a newer pg_dump: %v", err)
	}
	unchanged("a dump from a newer pg_dump")

	// A statement the server rejects, late in the script: psql stops there, names the
	// statement, and the transaction is rolled back.
	mustExec(t, pg, "postgres", "CREATE ROLE script_owner")
	mustExec(t, pg, "argo_script", "ALTER TABLE audit.events OWNER TO script_owner")
	owned, _, _ := backup(t, options(pg, "argo_script"))
	mustExec(t, pg, "argo_script", "ALTER TABLE audit.events OWNER TO postgres")
	mustExec(t, pg, "postgres", "DROP ROLE script_owner")
	err = Restore(ctx, bytes.NewReader(owned), script("argo_script"))
	for _, want := range []string{
		"psql (running pg_restore's script) failed (exit status 3)",
		`ERROR:  role "script_owner" does not exist`,
		"STATEMENT:  ALTER TABLE audit.events OWNER TO script_owner;",
		rolledBack,
		"restore with --globals (the backup's roles) or --no-owner",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("script-mode restore with a missing owner: %v\nwant %q", err, want)
		}
	}
	unchanged("a rejected statement")
	noOwner := script("argo_script")
	noOwner.NoOwner = true
	if err := Restore(ctx, bytes.NewReader(owned), noOwner); err != nil {
		t.Errorf("script-mode restore --no-owner: %v", err)
	}
	mustExec(t, pg, "argo_script", "DELETE FROM audit.events WHERE \"Note\" = 'kept'")
	if err := Restore(ctx, bytes.NewReader(data), script("argo_script")); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pg, "argo_script", "INSERT INTO audit.events (\"Note\") VALUES ('kept')")
	kept = fingerprint(t, pg, "argo_script")

	// Cancelled halfway: both programs are killed, nothing is committed.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	err = Restore(cctx, &cancelAfter{r: bytes.NewReader(data), n: len(data) / 2, cancel: cancel}, script("argo_script"))
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "restore interrupted") || !strings.Contains(err.Error(), rolledBack) {
		t.Errorf("cancelled script-mode restore: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the cancelled restore took %v", d)
	}
	unchanged("a cancelled restore")
}

// A pg_restore newer than the server is found out by its version and restores through
// psql, with the preamble's SET transaction_timeout left out. The host has PostgreSQL 15
// only, so "pg_restore 17" is the real pg_restore 15 behind a wrapper that says 17.6
// and adds the line pg_restore 17 writes to its preamble; the server and psql are real.
// Without the filter the real server rejects the line as it does pg_restore 17's.
func testScriptNewerClient(t *testing.T, pg *testenv.Postgres) {
	ctx := context.Background()
	createArgo(t, pg, "argo_newer", 12, 300)
	mustExec(t, pg, "argo_newer", trickyObjects)
	before := fingerprint(t, pg, "argo_newer")
	data, _, _ := backup(t, options(pg, "argo_newer"))

	bin := t.TempDir()
	fakeTool(t, bin, "pg_restore", `
if [ "$1" = --version ]; then echo "pg_restore (PostgreSQL) 17.6 (Debian 17.6-0+deb13u1)"; exit 0; fi
case " $* " in
*" --file=- "*)
	# pg_restore 17's preamble: SET transaction_timeout = 0; after the idle timeout.
	exec 3>&1
	status=$( { { "`+filepath.Join(pg.BinDir, "pg_restore")+`" "$@"; echo $? >&4; } |
		sed '/^SET idle_in_transaction_session_timeout = 0;$/a SET transaction_timeout = 0;' >&3; } 4>&1 )
	exit $status ;;
*)
	echo "pg_restore: error: could not execute query: ERROR:  unrecognized configuration parameter \"transaction_timeout\"" >&2
	echo "Command was: SET transaction_timeout = 0;" >&2
	exit 1 ;;
esac
`)
	o := options(pg, "argo_newer")
	o.BinDir = bin

	// Without psql next to it: refused before anything changes.
	err := CheckRestore(ctx, RestoreOptions{Target: o}, false)
	want := "psql not found in " + bin + ", next to pg_restore: pg_restore 17.6 is newer than the server (15."
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "install postgresql-client-17 (Debian/Ubuntu) or point postgres.binDir at a directory with both") {
		t.Errorf("CheckRestore without psql = %v, want %q", err, want)
	}
	if err := os.Symlink(filepath.Join(pg.BinDir, "psql"), filepath.Join(bin, "psql")); err != nil {
		t.Fatal(err)
	}
	if err := CheckRestore(ctx, RestoreOptions{Target: o}, false); err != nil {
		t.Errorf("CheckRestore: %v", err)
	}

	// Keeping the line (as for a server 17): the real server rejects it, psql names it,
	// and nothing changes.
	mustExec(t, pg, "argo_newer", "INSERT INTO notes VALUES ('kept')")
	kept := fingerprint(t, pg, "argo_newer")
	srv, err := resolve(o)
	if err != nil {
		t.Fatal(err)
	}
	v17 := Version{Text: "17.6", Num: 170006}
	err = runScript(ctx, srv, filepath.Join(bin, "pg_restore"), filepath.Join(bin, "psql"), v17, bytes.NewReader(data), false, changes{db: "argo_newer"}, slog.New(slog.DiscardHandler))
	for _, w := range []string{`ERROR:  unrecognized configuration parameter "transaction_timeout"`, "STATEMENT:  SET transaction_timeout = 0;",
		`rolled back: pg_restore runs in one transaction, so database "argo_newer" is as it was`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("script kept whole for a server 15: %v\nwant %q", err, w)
		}
	}
	if after := fingerprint(t, pg, "argo_newer"); !reflect.DeepEqual(after, kept) {
		t.Errorf("the rejected restore changed the target:\nbefore %v\nafter  %v", kept, after)
	}

	// Restore chooses the script mode by itself and leaves the line out.
	var logs bytes.Buffer
	err = Restore(ctx, bytes.NewReader(data), RestoreOptions{Target: o, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("restore with pg_restore 17 into server 15: %v", err)
	}
	for _, w := range []string{"restoring through psql", "pgRestore=17.6", `lines="[SET transaction_timeout = 0;]"`} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logs.String())
		}
	}
	if after := fingerprint(t, pg, "argo_newer"); !reflect.DeepEqual(after, before) {
		t.Errorf("restored data differs:\nbefore %v\nafter  %v", before, after)
	}
	checkTricky(t, pg, "argo_newer")
}

// cancelAfter cancels once n bytes were read, and goes on reading, slowly, so the rest of
// the dump cannot race the kill.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		time.Sleep(100 * time.Millisecond)
	}
	n, err := c.r.Read(p[:min(len(p), 16<<10)])
	if c.n -= n; c.n <= 0 {
		c.once.Do(c.cancel)
	}
	return n, err
}

// assertNoScriptLeft checks that no psql session stays on db (the server notices a killed
// client within moments) and that lifeboat left no pg_restore or psql child behind.
func assertNoScriptLeft(t *testing.T, pg *testenv.Postgres, db string) {
	t.Helper()
	conn := pg.Connect("postgres")
	defer conn.Close(context.Background())
	var n int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'psql'", db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 || time.Now().After(deadline) {
			break
		}
	}
	if n != 0 {
		t.Errorf("%d psql sessions left on %s", n, db)
	}
	entries, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		comm := s[strings.IndexByte(s, '(')+1 : i]
		fields := strings.Fields(s[i+1:])
		if len(fields) > 1 && fields[1] == me && (comm == "psql" || comm == "pg_restore") {
			t.Errorf("a %s (pid %s) is left behind, state %s", comm, e.Name(), fields[0])
		}
	}
}
