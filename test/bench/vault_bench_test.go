// Package bench measures lifeboat against the shell pipeline it replaces, on real servers.
//
// The benchmarks are heavy (a Vault grown to hundreds of MiB, MinIO, subprocesses), so all
// setup happens inside the Benchmark functions: `go test ./...` compiles this package and
// runs only the throttle's unit tests. Run them as docs/benchmarks.md says.
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// BenchmarkVaultBackup backs one raft snapshot up to 1, 3 and 5 S3 destinations (buckets
// of one MinIO; LIFEBOAT_BENCH_DESTS changes the counts), each destination behind its own
// link of LIFEBOAT_BENCH_DEST_MBPS MB/s (a throttling proxy; 0, the default, is MinIO
// straight on loopback; a list such as "0,50" runs each rate). Per flavor, in this order,
// so that the later ones can report their ratios to the earlier ones:
//
//   - read-limit: the snapshot read over HTTP to io.Discard (snapread), the floor;
//   - one-upload/rate=R: one upload of a staged snapshot file to one destination (s3put);
//   - dests=N/rate=R/classic: `<vault> operator raft snapshot save` to a staging file,
//     then an upload to each bucket in turn, then rm;
//   - dests=N/rate=R/lifeboat: `lifeboat backup vault` to the N buckets, reporting its wall
//     time as a multiple of the read limit, of the classic script, and of the larger of
//     the read limit and one upload.
//
// Every step is a child process, so its peak RSS and CPU come from the kernel (wait4
// rusage), measured the same way for all.
func BenchmarkVaultBackup(b *testing.B) {
	bins := buildBinaries(b)
	dests := intList(b, "LIFEBOAT_BENCH_DESTS", []int{1, 3, 5}, 1)
	rates := intList(b, "LIFEBOAT_BENCH_DEST_MBPS", []int{0}, 0)
	for _, flavor := range testenv.Flavors {
		b.Run(string(flavor), func(b *testing.B) {
			e := newBenchEnv(b, flavor, bins, slices.Max(dests), rates)
			b.Run("read-limit", e.benchReadLimit)
			for _, rate := range rates {
				b.Run("one-upload/rate="+rateName(rate), e.benchOneUpload(rate))
			}
			for _, n := range dests {
				b.Run(fmt.Sprintf("dests=%d", n), func(b *testing.B) {
					for _, rate := range rates {
						b.Run("rate="+rateName(rate), func(b *testing.B) {
							b.Run("classic", e.benchClassic(n, rate))
							b.Run("lifeboat", e.benchLifeboat(n, rate))
						})
					}
				})
			}
		})
	}
}

// rateName names a link rate in sub-benchmark names: "unlimited" or "50MBps".
func rateName(mbps int) string {
	if mbps == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%dMBps", mbps)
}

// benchEnv is one Vault flavor grown to the benchmark size, a MinIO with a bucket per
// destination, the links to them, and the environment each child process runs with.
type benchEnv struct {
	bins          binaries
	vault         *testenv.Vault
	minio         *testenv.MinIO
	dir           string
	staging       string // TMPDIR of every child; the classic script's snapshot file
	snapFile      string // a snapshot saved once, untimed, for one-upload (outside staging)
	tokenFile     string
	snapshotBytes int64
	buckets       []string
	endpoints     map[int][]string // per rate: the endpoint of each bucket (its own link)

	lifeboatEnv, vaultCLIEnv, s3Env []string

	// Mean wall times of the reference runs, for the lifeboat runs' ratios; zero when
	// the run did not include them (a -bench pattern that left them out).
	readWall    time.Duration
	uploadWall  map[int]time.Duration    // per rate
	classicWall map[[2]int]time.Duration // per destination count and rate
	configs     map[[2]int]string        // lifeboat's configuration file, likewise
}

func newBenchEnv(b *testing.B, flavor testenv.Flavor, bins binaries, maxDests int, rates []int) *benchEnv {
	b.Helper()
	bins.vault = testenv.Binary(b, string(flavor))
	e := &benchEnv{bins: bins, minio: testenv.StartMinIO(b),
		endpoints: map[int][]string{}, uploadWall: map[int]time.Duration{},
		classicWall: map[[2]int]time.Duration{}, configs: map[[2]int]string{}}
	for i := range maxDests {
		e.buckets = append(e.buckets, fmt.Sprintf("dest-%d", i+1))
		e.minio.MakeBucket(e.buckets[i])
	}
	e.dir = testenv.TempDir(b, "bench-"+string(flavor))
	e.staging = filepath.Join(e.dir, "staging")
	if err := os.Mkdir(e.staging, 0o700); err != nil {
		b.Fatal(err)
	}
	e.vault, e.tokenFile, e.vaultCLIEnv, e.snapshotBytes = grownVault(b, flavor, e.dir, e.staging)

	// Each destination its own link: a proxy per bucket and rate, shared by every
	// connection to that bucket, lifeboat's and the classic uploads' alike.
	for _, rate := range rates {
		for range e.buckets {
			if rate == 0 {
				e.endpoints[rate] = append(e.endpoints[rate], e.minio.Endpoint)
				continue
			}
			p, err := startThrottle(e.minio.Endpoint, float64(rate)*1e6, nil)
			if err != nil {
				b.Fatalf("start a throttling proxy: %v", err)
			}
			b.Cleanup(func() { p.Close() })
			e.endpoints[rate] = append(e.endpoints[rate], p.Addr())
		}
	}

	tmp := "TMPDIR=" + e.staging
	e.lifeboatEnv = []string{tmp, "LIFEBOAT_LOG_FORMAT=text",
		"BENCH_S3_ACCESS_KEY=" + e.minio.AccessKey, "BENCH_S3_SECRET_KEY=" + e.minio.SecretKey}
	e.s3Env = []string{tmp, "AWS_ACCESS_KEY_ID=" + e.minio.AccessKey, "AWS_SECRET_ACCESS_KEY=" + e.minio.SecretKey}

	// The file one-upload sends: saved the way the classic script saves it.
	e.snapFile = filepath.Join(e.dir, "reference.snap")
	e.bins.run(b, e.vaultCLIEnv, e.bins.vault, "operator", "raft", "snapshot", "save", e.snapFile)
	return e
}

// config writes (once) lifeboat's configuration for n destinations at rate.
func (e *benchEnv) config(b *testing.B, n, rate int) string {
	b.Helper()
	key := [2]int{n, rate}
	if f, ok := e.configs[key]; ok {
		return f
	}
	var dests []s3Dest
	for i, bucket := range e.buckets[:n] {
		dests = append(dests, s3Dest{bucket: bucket, endpoint: e.endpoints[rate][i]})
	}
	f := filepath.Join(e.dir, fmt.Sprintf("lifeboat-%d-dests-%s.yaml", n, rateName(rate)))
	if err := os.WriteFile(f, []byte(vaultConfig(e.vault.Addr(), e.tokenFile, "", dests)), 0o600); err != nil {
		b.Fatal(err)
	}
	e.configs[key] = f
	return f
}

// benchReadLimit reads the snapshot to io.Discard: no check, no copy, nothing stored.
// Nothing that backs the snapshot up can be faster, so it is what lifeboat is held to.
func (e *benchEnv) benchReadLimit(b *testing.B) {
	var st stats
	b.SetBytes(e.snapshotBytes)
	for b.Loop() {
		u, out := e.bins.run(b, e.vaultCLIEnv, e.bins.snapread)
		st.add("snapread", u)
		st.endRun(0, u.wall)
		var n int64
		if _, err := fmt.Sscanf(out, "read %d bytes", &n); err != nil || n < e.snapshotBytes*9/10 {
			b.Fatalf("snapread read %d bytes, want >= %d (%v): %s", n, e.snapshotBytes*9/10, err, out)
		}
	}
	st.report(b, size{"snapshot-MiB", e.snapshotBytes})
	e.readWall = st.meanWall()
}

// benchOneUpload uploads the staged snapshot file to the first bucket over its link at
// rate: the time one destination takes on its own.
func (e *benchEnv) benchOneUpload(rate int) func(b *testing.B) {
	return func(b *testing.B) {
		var st stats
		b.SetBytes(e.snapshotBytes)
		for b.Loop() {
			u, _ := e.bins.run(b, e.s3Env, e.bins.s3put, "-endpoint", e.endpoints[rate][0], e.snapFile, e.buckets[0], "vault/"+snapName())
			st.add("s3put", u)
			st.endRun(0, u.wall)

			b.StopTimer()
			e.checkAndClear(b, e.buckets[:1])
			b.StartTimer()
		}
		st.report(b, size{"snapshot-MiB", e.snapshotBytes})
		e.uploadWall[rate] = st.meanWall()
	}
}

// benchClassic is the usual CronJob script for n destinations.
func (e *benchEnv) benchClassic(n, rate int) func(b *testing.B) {
	return func(b *testing.B) {
		var st stats
		b.SetBytes(e.snapshotBytes)
		for b.Loop() {
			start := time.Now()
			disk := watchDisk(e.staging)
			snap := filepath.Join(e.staging, "vault.snap")
			name := snapName()
			u, _ := e.bins.run(b, e.vaultCLIEnv, e.bins.vault, "operator", "raft", "snapshot", "save", snap)
			st.add("snapshot save", u)
			// In turn, as the scripts do (`mc cp` per bucket): a parallel version would need
			// the same staging file and hold one upload's memory per bucket at once.
			for i, bucket := range e.buckets[:n] {
				u, _ = e.bins.run(b, e.s3Env, e.bins.s3put, "-endpoint", e.endpoints[rate][i], snap, bucket, "vault/"+name)
				st.add("s3put", u)
			}
			if err := os.Remove(snap); err != nil {
				b.Fatalf("remove the staging file: %v", err)
			}
			st.endRun(disk(), time.Since(start))

			b.StopTimer()
			e.checkAndClear(b, e.buckets[:n])
			b.StartTimer()
		}
		st.report(b, size{"snapshot-MiB", e.snapshotBytes})
		e.classicWall[[2]int{n, rate}] = st.meanWall()
	}
}

// benchLifeboat runs `lifeboat backup vault` to n destinations at rate, and reports its
// mean wall time as a multiple of the reference runs measured before it in this run.
func (e *benchEnv) benchLifeboat(n, rate int) func(b *testing.B) {
	return func(b *testing.B) {
		var st stats
		b.SetBytes(e.snapshotBytes)
		args := []string{e.bins.lifeboat, "--config", e.config(b, n, rate), "backup", "vault"}
		for b.Loop() {
			disk := watchDisk(e.staging)
			u, out := e.bins.run(b, e.lifeboatEnv, args...)
			st.add("lifeboat", u)
			st.endRun(disk(), u.wall)

			b.StopTimer()
			if st.runs == 1 {
				b.Logf("lifeboat said:\n%s", out)
			}
			e.checkAndClear(b, e.buckets[:n])
			b.StartTimer()
		}
		st.report(b, size{"snapshot-MiB", e.snapshotBytes})
		wall := st.meanWall().Seconds()
		var ratios []string
		ratio := func(name string, ref time.Duration) {
			if ref > 0 && wall > 0 {
				b.ReportMetric(wall/ref.Seconds(), name)
				ratios = append(ratios, fmt.Sprintf("%s %.3f", name, wall/ref.Seconds()))
			}
		}
		ratio("x-read-limit", e.readWall)
		ratio("x-classic", e.classicWall[[2]int{n, rate}])
		if e.readWall > 0 && e.uploadWall[rate] > 0 {
			ratio("x-max-read-upload", max(e.readWall, e.uploadWall[rate]))
		}
		b.Logf("lifeboat's wall time over the references of this run: %s", strings.Join(ratios, ", "))
	}
}

// snapName is the classic scripts' object name, one per run.
func snapName() string {
	return fmt.Sprintf("vault-%s.snap", time.Now().UTC().Format("20060102T150405.000Z"))
}
