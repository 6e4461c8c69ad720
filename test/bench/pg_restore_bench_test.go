package bench

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// BenchmarkPostgresRestore restores the generated database (LIFEBOAT_BENCH_PG_MB, as for
// BenchmarkPostgresBackup) into itself, replacing every object, three ways:
//
//   - pg_restore: plain `pg_restore --clean --if-exists --single-transaction
//     --exit-on-error` of a local `pg_dump -Fc -Z0` file: the same archive lifeboat hands
//     its pg_restore, read from a local file, so the difference is what lifeboat adds;
//   - pg_restore-zlib: the same of a local `pg_dump -Fc` file (zlib), the file a classic
//     script keeps;
//   - lifeboat: `lifeboat restore workflows --dump latest --from local` of a backup in a
//     directory destination (zstd): it verifies the backup in full first, checks the
//     schema guard, runs the same pg_restore on the decompressed stream, and compares
//     row counts afterwards. It reports its wall time as a multiple of both.
//
// The three dumps are taken once, untimed. After every restore the archived workflows are
// counted, and a row inserted after the dumps must be gone.
func BenchmarkPostgresRestore(b *testing.B) {
	bins := buildBinaries(b)
	e := newPgBenchEnv(b, bins)
	r := newPgRestoreEnv(b, e)
	b.Run("pg_restore", r.benchPlain(r.rawFile, &r.rawWall))
	b.Run("pg_restore-zlib", r.benchPlain(r.zlibFile, &r.zlibWall))
	b.Run("lifeboat", r.benchLifeboat)
}

type pgRestoreEnv struct {
	*pgBenchEnv
	rawFile, zlibFile string
	fileBytes         map[string]int64 // the size of each dump file, and of lifeboat's ("lifeboat")
	rawWall, zlibWall time.Duration
}

func newPgRestoreEnv(b *testing.B, e *pgBenchEnv) *pgRestoreEnv {
	b.Helper()
	r := &pgRestoreEnv{pgBenchEnv: e, fileBytes: map[string]int64{}}
	dir := testenv.TempDir(b, "bench-postgres-restore")
	r.rawFile, r.zlibFile = filepath.Join(dir, "argo-Z0.dump"), filepath.Join(dir, "argo.dump")
	for _, dump := range []struct {
		file string
		args []string
	}{{r.rawFile, []string{"-Fc", "-Z0"}}, {r.zlibFile, []string{"-Fc"}}} {
		u, _ := e.bins.run(b, e.pgEnv, e.dumpArgv(append(dump.args, "-f", dump.file)...)...)
		b.Logf("%s: dumped in %s", filepath.Base(dump.file), u.wall.Round(10*time.Millisecond))
	}
	_, out := e.bins.run(b, e.lifeboatEnv, e.bins.lifeboat, "--config", e.config, "backup", "workflows", "--destination", "local")
	b.Logf("lifeboat backup said:\n%s", out)
	err := filepath.WalkDir(e.localDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil && d.Name() != "manifest.json" {
			r.fileBytes["lifeboat"] = max(r.fileBytes["lifeboat"], info.Size())
		}
		return err
	})
	for _, f := range []string{r.rawFile, r.zlibFile} {
		if err != nil {
			break
		}
		var info fs.FileInfo
		info, err = os.Stat(f)
		if err == nil {
			r.fileBytes[f] = info.Size()
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	// Untimed, so that every measured restore starts from the same state, a database
	// that was itself restored from the dump, not the generated one (whose first
	// replacement would be the only one to drop freshly vacuumed tables).
	r.bins.run(b, r.pgEnv, r.restoreArgv(r.rawFile)...)
	r.mark(b)
	return r
}

// restoreArgv is the plain pg_restore lifeboat runs, of file into the database.
func (r *pgRestoreEnv) restoreArgv(file string) []string {
	return []string{filepath.Join(r.pg.BinDir, "pg_restore"), "-h", r.pg.Host, "-p", strconv.Itoa(r.pg.Port), "-U", r.pg.User,
		"-d", pgDatabase, "--clean", "--if-exists", "--single-transaction", "--exit-on-error", file}
}

func (r *pgRestoreEnv) benchPlain(file string, wall *time.Duration) func(b *testing.B) {
	return func(b *testing.B) {
		var st stats
		b.SetBytes(r.data.dbBytes)
		for b.Loop() {
			u, _ := r.bins.run(b, r.pgEnv, r.restoreArgv(file)...)
			st.add("pg_restore", u)
			st.endRun(0, u.wall)

			b.StopTimer()
			r.checkRestored(b)
			b.StartTimer()
		}
		st.report(b, size{"db-MiB", r.data.dbBytes}, size{"file-MiB", r.fileBytes[file]})
		*wall = st.meanWall()
	}
}

func (r *pgRestoreEnv) benchLifeboat(b *testing.B) {
	var st stats
	b.SetBytes(r.data.dbBytes)
	for b.Loop() {
		u, out := r.bins.run(b, r.lifeboatEnv, r.bins.lifeboat, "--config", r.config,
			"restore", "workflows", "--dump", "latest", "--from", "local")
		st.add("lifeboat", u)
		st.endRun(0, u.wall)

		b.StopTimer()
		if st.runs == 1 {
			b.Logf("lifeboat said:\n%s", out)
		}
		r.checkRestored(b)
		b.StartTimer()
	}
	st.report(b, size{"db-MiB", r.data.dbBytes}, size{"file-MiB", r.fileBytes["lifeboat"]})
	wall := st.meanWall().Seconds()
	for _, ref := range []struct {
		name string
		wall time.Duration
	}{{"x-pg_restore", r.rawWall}, {"x-pg_restore-zlib", r.zlibWall}} {
		if ref.wall > 0 && wall > 0 {
			b.ReportMetric(wall/ref.wall.Seconds(), ref.name)
			b.Logf("%s: %.3f", ref.name, wall/ref.wall.Seconds())
		}
	}
}

// markerUID is a workflow inserted after the dumps were taken: a restore removes it.
const markerUID = "00000000-0000-0000-0000-00000000beef"

func (r *pgRestoreEnv) connect(b *testing.B) (*pgx.Conn, context.Context, func()) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	conn, err := pgx.Connect(ctx, r.pg.DSN(pgDatabase))
	if err != nil {
		cancel()
		b.Fatalf("connect to %s: %v", pgDatabase, err)
	}
	return conn, ctx, func() { conn.Close(context.Background()); cancel() }
}

// mark inserts the marker workflow (a copy of one row under another uid).
func (r *pgRestoreEnv) mark(b *testing.B) {
	b.Helper()
	conn, ctx, done := r.connect(b)
	defer done()
	tag, err := conn.Exec(ctx, `INSERT INTO argo_archived_workflows (uid, name, phase, namespace, workflow, startedat, finishedat, clustername, instanceid)
		SELECT $1, name || '-marker', phase, namespace, workflow, startedat, finishedat, clustername, instanceid
		FROM argo_archived_workflows LIMIT 1`, markerUID)
	if err != nil || tag.RowsAffected() != 1 {
		b.Fatalf("insert the marker workflow: %v (%d rows)", err, tag.RowsAffected())
	}
}

// checkRestored checks that the database holds the dumped workflows and not the marker
// inserted since (so the restore really replaced the data), then inserts it again for
// the next iteration.
func (r *pgRestoreEnv) checkRestored(b *testing.B) {
	b.Helper()
	conn, ctx, done := r.connect(b)
	var rows, markers int64
	err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE uid = $1) FROM argo_archived_workflows`, markerUID).Scan(&rows, &markers)
	done()
	if err != nil || rows != r.data.archived || markers != 0 {
		b.Fatalf("after the restore: %d archived workflows (want %d), %d markers (want 0): %v", rows, r.data.archived, markers, err)
	}
	r.mark(b)
}
