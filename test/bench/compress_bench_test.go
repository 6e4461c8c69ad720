package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/klauspost/compress/zstd"

	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// BenchmarkVaultCompression measures what zstd gives on real raft snapshots of both
// flavors, filled with a mix of secrets like a platform's (LIFEBOAT_BENCH_COMPRESS_MB,
// default 30 MiB of snapshot): three in four are small JSON-ish records (credentials,
// URLs, settings), one in four a random blob (keys, certificates, tokens). It reports:
//
//   - snapshot: the raw size, whether the snapshot's gzip stores its data uncompressed
//     (OpenBao since 2.4) and the size of the tar inside;
//   - as-sent/level=L/threads=T: the snapshot through lifeboat's own zstd stage
//     (pipeline.NewZstdWriter) in the benchmark process: size, ratio, wall and CPU time;
//   - stored-gzip/level=L/threads=T: the same for the snapshot's tar re-wrapped in a gzip
//     of stored blocks, which is what OpenBao sends since openbao/openbao#3061 (the
//     OpenBao the tests install, 2.4, still deflates);
//   - backup/<mode>: `lifeboat backup vault` to three destinations (three
//     MinIO buckets) as a child process under the rusage launcher, with compression off,
//     on one thread and on two, for peak RSS, CPU and wall time of a whole run.
//
// Run it alone and once: go test ./test/bench -run '^$' -bench VaultCompression -benchtime 1x
func BenchmarkVaultCompression(b *testing.B) {
	bins := buildBinaries(b)
	// newBenchEnv grows the cluster with random blobs; this benchmark fills its own mix.
	b.Setenv("LIFEBOAT_BENCH_VAULT_MB", "1")
	want := compressMiB(b)
	for _, flavor := range testenv.Flavors {
		b.Run(string(flavor), func(b *testing.B) {
			e := newBenchEnv(b, flavor, bins, 3, []int{0})
			start := time.Now()
			fillMix(b, e.vault.Client(), want)
			snap := takeSnapshot(b, e.vault.Client())
			e.snapshotBytes = int64(len(snap))
			tarBytes := gunzippedSize(b, snap)
			b.Logf("%s: snapshot %.1f MiB (filled in %s), gzip stores uncompressed: %v, tar inside %.1f MiB",
				flavor, mib(int64(len(snap))), time.Since(start).Round(time.Second),
				vault.StoresUncompressed(snap[:min(len(snap), 4096)]), mib(tarBytes))
			b.Run("snapshot", func(b *testing.B) {
				for b.Loop() {
				}
				b.ReportMetric(mib(int64(len(snap))), "raw-MiB")
				b.ReportMetric(mib(tarBytes), "tar-MiB")
			})
			// What OpenBao since openbao/openbao#3061 sends: the same tar in a gzip of
			// stored (uncompressed) blocks, as `gunzip | gzip -0` makes it.
			stored := regzipStored(b, snap)
			b.Logf("%s: the same snapshot as stored gzip: %.1f MiB, gzip stores uncompressed: %v",
				flavor, mib(int64(len(stored))), vault.StoresUncompressed(stored[:4096]))
			for _, in := range []struct {
				name string
				data []byte
			}{{"as-sent", snap}, {"stored-gzip", stored}} {
				for _, c := range zstdCases {
					b.Run(in.name+"/"+c.String(), func(b *testing.B) { benchZstd(b, in.data, c) })
				}
			}
			for _, mode := range []struct {
				name, yaml string
			}{
				{"none", "compression: none"},
				{"zstd-1-thread", "compression: zstd\n      compressionThreads: 1"},
				{"zstd-2-threads", "compression: zstd\n      compressionThreads: 2"},
			} {
				b.Run("backup/"+mode.name, e.benchCompressedBackup(mode.yaml))
			}
		})
	}
}

func compressMiB(b *testing.B) int {
	b.Helper()
	s := os.Getenv("LIFEBOAT_BENCH_COMPRESS_MB")
	if s == "" {
		return 30
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("LIFEBOAT_BENCH_COMPRESS_MB=%q: want a positive number of MiB", s)
	}
	return n
}

// zstdCase is one encoder setting: lifeboat's own stage (window 0), or the single-thread
// encoder with another window, to see what the window costs in memory and gives in ratio.
type zstdCase struct {
	level   zstd.EncoderLevel
	threads int
	window  int
}

func (c zstdCase) String() string {
	s := fmt.Sprintf("level=%d/threads=%d", c.level, c.threads)
	if c.window > 0 {
		s += fmt.Sprintf("/window=%dKiB", c.window>>10)
	}
	return s
}

func (c zstdCase) writer(w io.Writer) (*zstd.Encoder, error) {
	if c.window == 0 {
		return pipeline.NewZstdWriter(w, c.level, c.threads)
	}
	return zstd.NewWriter(w, zstd.WithEncoderLevel(c.level), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(c.window))
}

// benchZstd compresses data with one encoder setting, fed in 1 MiB writes as the pipeline
// does, and checks the result decodes to the same bytes with lifeboat's decoder. The
// heap growth is sampled every 2 ms (Go heap in use above what it was before; the RSS a
// process adds is a little more).
func benchZstd(b *testing.B, data []byte, c zstdCase) {
	var out countWriter
	var cpu, wall time.Duration
	var heap uint64
	runs := 0
	for b.Loop() {
		out = 0
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		stop := sampleHeap(ms.HeapInuse)
		before, t0 := cpuTime(b), time.Now()
		zw, err := c.writer(&out)
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < len(data); off += 1 << 20 {
			if _, err := zw.Write(data[off:min(off+1<<20, len(data))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(t0)
		cpu += cpuTime(b) - before
		heap = max(heap, stop())
		runs++
	}
	checkRoundTrip(b, data, c)
	b.SetBytes(int64(len(data)))
	b.ReportMetric(mib(int64(out)), "zst-MiB")
	b.ReportMetric(float64(len(data))/float64(out), "ratio")
	b.ReportMetric(cpu.Seconds()/float64(runs), "cpu-s/op")
	b.ReportMetric(mib(int64(heap)), "heap-MiB")
	b.Logf("%s: %.2f MiB -> %.2f MiB (%.1f%%), wall %.2fs, cpu %.2fs, heap +%.1f MiB",
		c, mib(int64(len(data))), mib(int64(out)), 100*float64(out)/float64(len(data)),
		wall.Seconds()/float64(runs), cpu.Seconds()/float64(runs), mib(int64(heap)))
}

func checkRoundTrip(b *testing.B, data []byte, c zstdCase) {
	b.Helper()
	var buf bytes.Buffer
	zw, err := c.writer(&buf)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	zr, err := pipeline.NewZstdReader(&buf)
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		b.Fatalf("decode what was compressed: %v", err)
	}
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		b.Fatal("the compressed data does not decode to the input")
	}
}

// sampleHeap samples the Go heap in use until the returned stop, which says by how much
// it grew over base at most.
func sampleHeap(base uint64) (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// zstdCases are the settings measured on every input: lifeboat's (a 1 MiB window on one
// thread, 512 KiB on two) and, for comparison, klauspost's default 8 MiB window.
var zstdCases = []zstdCase{
	{level: zstd.SpeedFastest, threads: 1}, {level: zstd.SpeedFastest, threads: 2},
	{level: zstd.SpeedDefault, threads: 1}, {level: zstd.SpeedDefault, threads: 2},
	{level: zstd.SpeedDefault, threads: 1, window: 8 << 20},
	{level: zstd.SpeedBetterCompression, threads: 1}, {level: zstd.SpeedBetterCompression, threads: 2},
	{level: zstd.SpeedBetterCompression, threads: 1, window: 8 << 20},
}

// cpuTime is the user + system time of the benchmark process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchCompressedBackup runs `lifeboat backup vault` to the three destinations with the
// vault source's compression settings replaced by settings.
func (e *benchEnv) benchCompressedBackup(settings string) func(b *testing.B) {
	return func(b *testing.B) {
		base := e.config(b, 3, 0)
		cfg, err := os.ReadFile(base)
		if err != nil {
			b.Fatal(err)
		}
		text := strings.Replace(string(cfg), "    vault:\n", "    vault:\n      "+settings+"\n", 1)
		path := filepath.Join(filepath.Dir(base), "compress.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			b.Fatal(err)
		}
		var st stats
		var stored int64
		b.SetBytes(e.snapshotBytes)
		for b.Loop() {
			u, out := e.bins.run(b, e.lifeboatEnv, e.bins.lifeboat, "--config", path, "backup", "vault")
			st.add("lifeboat", u)
			st.endRun(0, u.wall)
			b.StopTimer()
			if st.runs == 1 {
				b.Logf("lifeboat said:\n%s", out)
			}
			stored = e.clearStored(b)
			b.StartTimer()
		}
		st.report(b, size{"stored-MiB", stored})
	}
}

// clearStored checks that the three buckets hold the same data object and empties them,
// returning its size.
func (e *benchEnv) clearStored(b *testing.B) int64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var largest int64
	for i, bucket := range e.buckets[:3] {
		got := emptyBucket(ctx, b, e.minio, bucket)
		if got < 1<<20 || (i > 0 && got != largest) {
			b.Fatalf("bucket %s: largest object %d bytes, the first bucket's is %d", bucket, got, largest)
		}
		largest = got
	}
	return largest
}

// fillMix writes secrets to a KV v2 mount until a snapshot is at least wantMiB.
func fillMix(b *testing.B, c *vaultapi.Client, wantMiB int) {
	b.Helper()
	c.SetClientTimeout(10 * time.Minute)
	if err := c.Sys().Mount("app", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		b.Fatalf("mount app/: %v", err)
	}
	want := int64(wantMiB) << 20
	next := 0
	for {
		size := int64(len(takeSnapshot(b, c)))
		if size >= want {
			return
		}
		// About 3.4 KiB of secret per record on average (see mixedSecret).
		n := int((want-size)/(3400)) + 1
		if err := writeMix(c, next, n); err != nil {
			b.Fatal(err)
		}
		next += n
	}
}

func writeMix(c *vaultapi.Client, first, n int) error {
	return writeInParallel(first, n, func(i int) error {
		path := fmt.Sprintf("app/data/team-%02d/service-%05d", i%37, i)
		if _, err := c.Logical().Write(path, map[string]any{"data": mixedSecret(i)}); err != nil {
			return fmt.Errorf("fill vault: write %s: %w", path, err)
		}
		return nil
	})
}

// mixedSecret is record i: three in four are JSON-ish settings with a random password
// (about 1.5 KiB), one in four a random blob (9 KiB of base64, like a PEM bundle).
func mixedSecret(i int) map[string]any {
	if i%4 == 3 {
		blob := make([]byte, 6<<10)
		_, _ = rand.Read(blob)
		return map[string]any{"tls.key": base64.StdEncoding.EncodeToString(blob)}
	}
	pw := make([]byte, 18)
	_, _ = rand.Read(pw)
	team := i % 37
	return map[string]any{
		"username": fmt.Sprintf("svc-%05d", i),
		"password": base64.RawURLEncoding.EncodeToString(pw),
		"url":      fmt.Sprintf("postgres://svc-%05d@db-%02d.platform.svc.cluster.local:5432/app_%05d?sslmode=verify-full", i, team, i),
		"config": fmt.Sprintf(`{"owner":"team-%02d","environment":"production","region":"eu-west-1",`+
			`"rotation":{"enabled":true,"period":"720h","notify":["platform@example.com","team-%02d@example.com"]},`+
			`"features":{"audit":true,"replication":false,"readOnly":false},"labels":{"app":"service-%05d",`+
			`"tier":"backend","costCenter":"cc-%04d"},"description":"Credentials of service %05d used by the workflow `+
			`controller to reach its database; rotated by the platform team every thirty days."}`, team, team, i, team*17, i),
		"ca": strings.Repeat("MIIDdzCCAl+gAwIBAgIEbXkI3DANBgkqhkiG9w0BAQsFADBsMRAwDgYDVQQGEwdV", 10),
	}
}

func takeSnapshot(b *testing.B, c *vaultapi.Client) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := c.Sys().RaftSnapshotWithContext(context.Background(), &buf); err != nil {
		b.Fatalf("take a snapshot: %v", err)
	}
	return buf.Bytes()
}

// regzipStored is snap's tar in a gzip of stored blocks.
func regzipStored(b *testing.B, snap []byte) []byte {
	b.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(snap))
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.NoCompression)
	if _, err := io.Copy(zw, zr); err != nil {
		b.Fatalf("re-gzip the snapshot: %v", err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

// gunzippedSize is the size of the tar inside the snapshot's gzip.
func gunzippedSize(b *testing.B, snap []byte) int64 {
	b.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(snap))
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil {
		b.Fatalf("gunzip the snapshot: %v", err)
	}
	return n
}

// BenchmarkPostgresCompression measures the same zstd settings on a real pg_dump: an
// Argo-like workflow database (test/bench/pg_grow_test.go) of LIFEBOAT_BENCH_PG_ZSTD_MB
// MiB (default 16), dumped as lifeboat dumps it (pg_dump -Fc -Z0) into memory.
//
// Run it alone and once: go test ./test/bench -run '^$' -bench PostgresCompression -benchtime 1x
func BenchmarkPostgresCompression(b *testing.B) {
	want := 16
	if s := os.Getenv("LIFEBOAT_BENCH_PG_ZSTD_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("LIFEBOAT_BENCH_PG_ZSTD_MB=%q: want a positive number of MiB", s)
		}
		want = n
	}
	pg := testenv.StartPostgres(b)
	growArgo(b, pg, pgDatabase, want)
	cmd := exec.Command(filepath.Join(pg.BinDir, "pg_dump"), "-h", pg.Host, "-p", strconv.Itoa(pg.Port), "-U", pg.User,
		"-d", pgDatabase, "-Fc", "-Z0")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pg.Password)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dump, err := cmd.Output()
	if err != nil {
		b.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	b.Logf("pg_dump -Fc -Z0 of a %d MiB Argo-like database: %.1f MiB", want, mib(int64(len(dump))))
	for _, c := range zstdCases {
		b.Run(c.String(), func(b *testing.B) { benchZstd(b, dump, c) })
	}
}
