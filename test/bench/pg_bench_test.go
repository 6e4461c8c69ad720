package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// BenchmarkPostgresBackup backs up an Argo-like workflow database of at least
// LIFEBOAT_BENCH_PG_MB MiB (pg_database_size; default 1024) with lifeboat and with the
// classic scripts, to one destination (a MinIO bucket) and to three (a directory and two
// buckets):
//
//   - 1-destination/lifeboat: `lifeboat backup workflows --destination bench-a`
//   - 1-destination/classic: `pg_dump -Fc | s3put - bench-a KEY`, the streaming
//     `pg_dump -Fc | aws s3 cp - s3://...` CronJob
//   - 1-destination/classic-zstd: `pg_dump -Fc -Z0 | zstd -3 -T1 | s3put - ...`, the same
//     pipeline compressing like lifeboat does (zstd level 3 is what lifeboat's default
//     level 2 approximates; lifeboat also compresses on one thread), to separate what
//     the codec gives from what the pipeline gives; skipped without the zstd CLI
//   - 3-destinations/lifeboat: `lifeboat backup workflows`
//   - 3-destinations/classic: `pg_dump -Fc -f /staging/argo.dump`, then cp to the
//     directory, an upload to each bucket in turn, rm: the usual script for several
//     destinations (one dump, then a copy per destination, as for Vault)
//   - reference/pg_dump: `pg_dump -Fc -Z0 -f /dev/null`, what reading the database costs
//     before anything is compressed or stored (lifeboat runs pg_dump with -Z0 and
//     compresses with zstd itself)
//
// Every step is a child process, measured like in BenchmarkVaultBackup.
func BenchmarkPostgresBackup(b *testing.B) {
	bins := buildBinaries(b)
	e := newPgBenchEnv(b, bins)
	b.Run("1-destination", func(b *testing.B) {
		b.Run("lifeboat", e.benchLifeboat(false, buckets[:1], "--destination", buckets[0]))
		b.Run("classic", e.benchClassicStream(e.dumpArgv("-Fc")))
		b.Run("classic-zstd", e.benchClassicStream(e.dumpArgv("-Fc", "-Z0"), "zstd", "-3", "-T1", "-q", "-c"))
	})
	b.Run("3-destinations", func(b *testing.B) {
		b.Run("lifeboat", e.benchLifeboat(true, buckets))
		b.Run("classic", e.benchClassicFile)
	})
	b.Run("reference", func(b *testing.B) {
		b.Run("pg_dump", e.benchDumpOnly)
	})
}

// pgBenchEnv is a PostgreSQL 15 with the generated database, a MinIO with the two
// buckets, a directory destination, and the environment each child process runs with.
type pgBenchEnv struct {
	bins     binaries
	pg       *testenv.Postgres
	minio    *testenv.MinIO
	localDir string // the directory destination
	staging  string // TMPDIR of every child; the classic script's dump file
	config   string
	data     argoData
	rawDump  int64 // bytes of `pg_dump -Fc -Z0`: what lifeboat compresses

	pgDump                    string   // the pg_dump binary
	pgConn                    []string // pg_dump's connection arguments
	lifeboatEnv, pgEnv, s3Env []string
}

// buckets are the two S3 destinations of the PostgreSQL benchmarks; with the directory
// they make three.
var buckets = []string{"bench-a", "bench-b"}

// pgDatabase is the generated database's name (Argo's default is "argo" too).
const pgDatabase = "argo"

// pgMiB is the database size to generate; LIFEBOAT_BENCH_PG_MB lowers it for a quick run.
func pgMiB(b *testing.B) int {
	b.Helper()
	s := os.Getenv("LIFEBOAT_BENCH_PG_MB")
	if s == "" {
		return 1024
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("LIFEBOAT_BENCH_PG_MB=%q: want a positive number of MiB", s)
	}
	return n
}

func newPgBenchEnv(b *testing.B, bins binaries) *pgBenchEnv {
	b.Helper()
	e := &pgBenchEnv{bins: bins, pg: testenv.StartPostgres(b), minio: testenv.StartMinIO(b)}
	for _, bucket := range buckets {
		e.minio.MakeBucket(bucket)
	}
	dir := testenv.TempDir(b, "bench-postgres")
	e.localDir = filepath.Join(dir, "backups")
	e.staging = filepath.Join(dir, "staging")
	for _, d := range []string{e.localDir, e.staging} {
		if err := os.Mkdir(d, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	pwFile := filepath.Join(dir, "pg-password")
	if err := os.WriteFile(pwFile, []byte(e.pg.Password+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	e.config = filepath.Join(dir, "lifeboat.yaml")
	if err := os.WriteFile(e.config, []byte(e.lifeboatConfig(pwFile)), 0o600); err != nil {
		b.Fatal(err)
	}
	tmp := "TMPDIR=" + e.staging
	e.lifeboatEnv = []string{tmp, "LIFEBOAT_LOG_FORMAT=text",
		"BENCH_S3_ACCESS_KEY=" + e.minio.AccessKey, "BENCH_S3_SECRET_KEY=" + e.minio.SecretKey}
	// The password as CronJobs pass it, from a Secret; host, port, user and database are
	// on the command line, so the developer's PG* variables cannot point pg_dump elsewhere.
	e.pgEnv = []string{tmp, "PGPASSWORD=" + e.pg.Password}
	e.s3Env = []string{tmp, "AWS_ACCESS_KEY_ID=" + e.minio.AccessKey, "AWS_SECRET_ACCESS_KEY=" + e.minio.SecretKey}
	e.pgDump = filepath.Join(e.pg.BinDir, "pg_dump")
	e.pgConn = []string{"-h", e.pg.Host, "-p", strconv.Itoa(e.pg.Port), "-U", e.pg.User, "-d", pgDatabase}

	e.data = growArgo(b, e.pg, pgDatabase, pgMiB(b))
	d := e.data
	b.Logf("database %s: %.1f MiB (pg_database_size; wanted >= %d MiB), generated in %s: %d archived workflows (%.1f MiB with TOAST and indexes), %d labels, %d live workflows; workflow JSON %d-%d bytes, %d on average, stored in %d (sample of 2000)",
		pgDatabase, mib(d.dbBytes), pgMiB(b), d.generated.Round(time.Second), d.archived, mib(d.archivedBytes), d.labels, d.live,
		d.minJSON, d.maxJSON, d.avgJSON, d.avgStored)

	// Untimed: the size of the uncompressed dump, which also warms the page cache the
	// same way for every sub-benchmark (the database fits in memory).
	var n countWriter
	wall, us, _ := bins.pipeline(b, &n, stage{env: e.pgEnv, argv: e.dumpArgv("-Fc", "-Z0")})
	e.rawDump = int64(n)
	b.Logf("pg_dump -Fc -Z0: %.1f MiB in %s (%.0f MB/s), cpu %.2fs, peak RSS %.1f MiB",
		mib(e.rawDump), wall.Round(10*time.Millisecond), float64(e.rawDump)/1e6/wall.Seconds(), us[0].cpu.Seconds(), mib(us[0].peakRSS))
	return e
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// dumpArgv is a pg_dump command line for the benchmark database with extra arguments.
func (e *pgBenchEnv) dumpArgv(extra ...string) []string {
	return append(append([]string{e.pgDump}, e.pgConn...), extra...)
}

// lifeboatConfig backs the database up to the directory and both buckets, with lifeboat's
// defaults (zstd level 2, 16 MiB parts, no globals: `pg_dump -Fc` dumps no roles
// either) and no retention, so that the benchmark's own cleanup is the only deletion.
func (e *pgBenchEnv) lifeboatConfig(pwFile string) string {
	cfg := fmt.Sprintf(`sources:
  - name: workflows
    kind: postgres
    postgres:
      host: %s
      port: %d
      database: %s
      user: %s
      password: {file: %s}
      sslMode: disable
      binDir: %s
destinations:
  - name: local
    kind: file
    file: {path: %s}
`, e.pg.Host, e.pg.Port, pgDatabase, e.pg.User, pwFile, e.pg.BinDir, e.localDir)
	for _, bucket := range buckets {
		cfg += fmt.Sprintf(`  - name: %s
    kind: s3
    s3:
      endpoint: %s
      bucket: %s
      pathStyle: true
      insecure: true
      accessKeyID: {env: BENCH_S3_ACCESS_KEY}
      secretAccessKey: {env: BENCH_S3_SECRET_KEY}
`, bucket, e.minio.Endpoint, bucket)
	}
	return cfg
}

// benchLifeboat runs `lifeboat backup workflows` with extra arguments; local and bkts are
// the destinations that must hold the backup afterwards. With all three destinations the
// first backup is also verified (`lifeboat verify latest`: every copy's sha256, zstd
// stream and `pg_restore --list`), with the timer stopped.
func (e *pgBenchEnv) benchLifeboat(local bool, bkts []string, extra ...string) func(b *testing.B) {
	return func(b *testing.B) {
		var st stats
		var dump int64
		b.SetBytes(e.data.dbBytes)
		args := append([]string{e.bins.lifeboat, "--config", e.config, "backup", "workflows"}, extra...)
		for b.Loop() {
			start := time.Now()
			disk := watchDisk(e.staging)
			u, out := e.bins.run(b, e.lifeboatEnv, args...)
			st.add("lifeboat", u)
			st.endRun(disk(), time.Since(start))

			b.StopTimer()
			if st.runs == 1 {
				b.Logf("lifeboat said:\n%s", out)
				if local && len(bkts) == len(buckets) {
					_, out := e.bins.run(b, e.lifeboatEnv, e.bins.lifeboat, "--config", e.config, "verify", "latest")
					b.Logf("lifeboat verify latest:\n%s", out)
				}
			}
			dump = e.collect(b, local, bkts, true)
			b.StartTimer()
		}
		st.report(b, size{"db-MiB", e.data.dbBytes}, size{"dump-MiB", dump})
	}
}

// benchClassicStream returns the one-destination CronJob: `dump | [filter...] | aws s3
// cp - s3://...`, every process of the pipe measured, and all must succeed (set -o
// pipefail).
func (e *pgBenchEnv) benchClassicStream(dump []string, filter ...string) func(b *testing.B) {
	return func(b *testing.B) {
		stages := []stage{{env: e.pgEnv, argv: dump}}
		if len(filter) > 0 {
			if _, err := exec.LookPath(filter[0]); err != nil {
				b.Skipf("%s is not installed: %v", filter[0], err)
			}
			stages = append(stages, stage{argv: filter})
		}
		var st stats
		var dump int64
		b.SetBytes(e.data.dbBytes)
		for b.Loop() {
			start := time.Now()
			disk := watchDisk(e.staging)
			key := path.Join("workflows", dumpName())
			run := append(stages, stage{env: e.s3Env, argv: []string{e.bins.s3put, "-endpoint", e.minio.Endpoint, "-", buckets[0], key}})
			wall, us, _ := e.bins.pipeline(b, nil, run...)
			for i, u := range us {
				u.wall = wall // they run at once
				st.add(filepath.Base(run[i].argv[0]), u)
			}
			st.endRun(disk(), time.Since(start))

			b.StopTimer()
			dump = e.collect(b, false, buckets[:1], false)
			b.StartTimer()
		}
		st.report(b, size{"db-MiB", e.data.dbBytes}, size{"dump-MiB", dump})
	}
}

// benchClassicFile is the several-destinations script: one `pg_dump -Fc` to a staging
// file, then a copy to each destination in turn, then rm.
func (e *pgBenchEnv) benchClassicFile(b *testing.B) {
	var st stats
	var dump int64
	b.SetBytes(e.data.dbBytes)
	for b.Loop() {
		start := time.Now()
		disk := watchDisk(e.staging)
		file := filepath.Join(e.staging, "argo.dump")
		name := dumpName()
		u, _ := e.bins.run(b, e.pgEnv, e.dumpArgv("-Fc", "-f", file)...)
		st.add("pg_dump -Fc -f", u)
		u, _ = e.bins.run(b, nil, "cp", file, filepath.Join(e.localDir, name))
		st.add("cp", u)
		for _, bucket := range buckets {
			u, _ = e.bins.run(b, e.s3Env, e.bins.s3put, "-endpoint", e.minio.Endpoint, file, bucket, path.Join("workflows", name))
			st.add("s3put", u)
		}
		if err := os.Remove(file); err != nil {
			b.Fatalf("remove the staging file: %v", err)
		}
		st.endRun(disk(), time.Since(start))

		b.StopTimer()
		dump = e.collect(b, true, buckets, false)
		b.StartTimer()
	}
	st.report(b, size{"db-MiB", e.data.dbBytes}, size{"dump-MiB", dump})
}

// benchDumpOnly is pg_dump alone, uncompressed, to /dev/null (--no-sync: /dev/null
// cannot be fsynced): the floor of every pipeline.
func (e *pgBenchEnv) benchDumpOnly(b *testing.B) {
	var st stats
	b.SetBytes(e.data.dbBytes)
	for b.Loop() {
		u, _ := e.bins.run(b, e.pgEnv, e.dumpArgv("-Fc", "-Z0", "--no-sync", "-f", os.DevNull)...)
		st.add("pg_dump -Fc -Z0", u)
		st.endRun(0, u.wall)
	}
	st.report(b, size{"db-MiB", e.data.dbBytes}, size{"dump-MiB", e.rawDump})
}

// dumpName is the classic scripts' object name, one per run.
func dumpName() string {
	return fmt.Sprintf("argo-%s.dump", time.Now().UTC().Format("20060102T150405.000Z"))
}

// collect checks that the run just measured left one complete dump in each destination
// it had (the directory when local, and bkts), all of the same size, with a manifest
// beside it when manifest (lifeboat's commit mark), so that a pipeline that silently
// failed cannot look fast; then it deletes everything, and returns the dump's size.
func (e *pgBenchEnv) collect(b *testing.B, local bool, bkts []string, manifest bool) int64 {
	b.Helper()
	type found struct {
		data     int
		size     int64
		manifest bool
	}
	var got []found
	var where []string
	if local {
		var f found
		err := filepath.WalkDir(e.localDir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if d.Name() == "manifest.json" {
				f.manifest = true
			} else {
				f.data++
				f.size = max(f.size, info.Size())
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(e.localDir); err != nil {
			b.Fatal(err)
		}
		if err := os.Mkdir(e.localDir, 0o700); err != nil {
			b.Fatal(err)
		}
		got, where = append(got, f), append(where, "directory")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := e.minio.Client()
	for _, bucket := range bkts {
		var f found
		for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				b.Fatalf("list %s: %v", bucket, obj.Err)
			}
			if path.Base(obj.Key) == "manifest.json" {
				f.manifest = true
			} else {
				f.data++
				f.size = max(f.size, obj.Size)
			}
			if err := c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
				b.Fatalf("empty %s: %v", bucket, err)
			}
		}
		got, where = append(got, f), append(where, "bucket "+bucket)
	}
	var problems []string
	for i, f := range got {
		// A dump is compressed 10-20 times here; one under 1% of the raw dump is cut short.
		if f.data != 1 || f.manifest != manifest || f.size < e.rawDump/100 || f.size != got[0].size {
			problems = append(problems, fmt.Sprintf("%s: %d data objects, largest %d bytes, manifest %t", where[i], f.data, f.size, f.manifest))
		}
	}
	if len(problems) > 0 {
		b.Fatalf("the backup did not arrive whole (want one dump of the same size >= %d bytes everywhere, manifest %t):\n%s",
			e.rawDump/100, manifest, strings.Join(problems, "\n"))
	}
	return got[0].size
}
