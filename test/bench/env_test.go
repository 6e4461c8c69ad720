package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// buckets are the two S3 destinations; with the directory they make three.
var buckets = []string{"bench-a", "bench-b"}

// binaries are the programs the benchmarks run as child processes.
type binaries struct {
	dir      string // also holds the launcher's rusage files
	lifeboat string
	s3put    string // stands in for `mc cp`
	rusage   string // the launcher every measured command runs under
	vault    string // set per flavor: the server binary is also the CLI
}

// buildBinaries builds lifeboat and the helpers once per benchmark run, so that their
// build is never part of a measurement, and logs the launcher's RSS floor.
func buildBinaries(b *testing.B) binaries {
	b.Helper()
	dir := b.TempDir()
	bins := binaries{dir: dir}
	for _, build := range []struct {
		out *string
		pkg string
	}{
		{&bins.lifeboat, "./cmd/lifeboat"},
		{&bins.s3put, "./test/bench/internal/s3put"},
		{&bins.rusage, "./test/bench/internal/rusage"},
	} {
		*build.out = filepath.Join(dir, filepath.Base(build.pkg))
		cmd := exec.Command("go", "build", "-o", *build.out, build.pkg)
		cmd.Dir = testenv.RepoRoot()
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", build.pkg, err, msg)
		}
	}
	floor, _ := bins.run(b, nil, "true")
	b.Logf("peak RSS floor (the rusage launcher running true): %.1f MiB", float64(floor.peakRSS)/(1<<20))
	return bins
}

// benchEnv is one Vault flavor grown to the benchmark size, a MinIO with the two buckets,
// a directory destination, and the environment each child process runs with.
type benchEnv struct {
	bins          binaries
	vault         *testenv.Vault
	minio         *testenv.MinIO
	localDir      string // the directory destination
	staging       string // TMPDIR of every child; the classic script's snapshot file
	config        string
	snapshotBytes int64

	lifeboatEnv, vaultCLIEnv, s3Env []string
}

// vaultMiB is the snapshot size to grow Vault to; LIFEBOAT_BENCH_VAULT_MB lowers it for a
// quick local run.
func vaultMiB(b *testing.B) int {
	b.Helper()
	s := os.Getenv("LIFEBOAT_BENCH_VAULT_MB")
	if s == "" {
		return 200
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("LIFEBOAT_BENCH_VAULT_MB=%q: want a positive number of MiB", s)
	}
	return n
}

func newBenchEnv(b *testing.B, flavor testenv.Flavor, bins binaries) *benchEnv {
	b.Helper()
	bins.vault = testenv.Binary(b, string(flavor))
	e := &benchEnv{bins: bins, vault: testenv.StartVault(b, flavor), minio: testenv.StartMinIO(b)}
	for _, bucket := range buckets {
		e.minio.MakeBucket(bucket)
	}
	dir := testenv.TempDir(b, "bench-"+string(flavor))
	e.localDir = filepath.Join(dir, "backups")
	e.staging = filepath.Join(dir, "staging")
	for _, d := range []string{e.localDir, e.staging} {
		if err := os.Mkdir(d, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(e.vault.RootToken+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	e.config = filepath.Join(dir, "lifeboat.yaml")
	if err := os.WriteFile(e.config, []byte(lifeboatConfig(e.vault.Addr(), tokenFile, e.localDir, e.minio.Endpoint)), 0o600); err != nil {
		b.Fatal(err)
	}

	tmp := "TMPDIR=" + e.staging
	e.lifeboatEnv = []string{tmp, "LIFEBOAT_LOG_FORMAT=text",
		"BENCH_S3_ACCESS_KEY=" + e.minio.AccessKey, "BENCH_S3_SECRET_KEY=" + e.minio.SecretKey}
	// OpenBao reads BAO_*, HashiCorp Vault VAULT_*; set both so that whatever the
	// developer's shell exports cannot point the CLI elsewhere.
	e.vaultCLIEnv = []string{tmp, "BAO_ADDR=" + e.vault.Addr(), "BAO_TOKEN=" + e.vault.RootToken,
		"VAULT_ADDR=" + e.vault.Addr(), "VAULT_TOKEN=" + e.vault.RootToken}
	e.s3Env = []string{tmp, "AWS_ACCESS_KEY_ID=" + e.minio.AccessKey, "AWS_SECRET_ACCESS_KEY=" + e.minio.SecretKey}

	want := vaultMiB(b)
	start := time.Now()
	e.snapshotBytes = growVault(b, e.vault.Client(), want)
	b.Logf("%s: snapshot is %.1f MiB (wanted >= %d MiB), grown in %s",
		flavor, float64(e.snapshotBytes)/(1<<20), want, time.Since(start).Round(time.Second))
	return e
}

// lifeboatConfig backs the Vault up to the directory and both buckets, with default part
// sizes (16 MiB, the same as the classic uploads use) and no retention, so that the
// benchmark's own cleanup is the only deletion.
func lifeboatConfig(vaultAddr, tokenFile, localDir, s3Endpoint string) string {
	cfg := fmt.Sprintf(`sources:
  - name: vault
    kind: vault
    vault:
      address: %s
      auth:
        token: {file: %s}
destinations:
  - name: local
    kind: file
    file: {path: %s}
`, vaultAddr, tokenFile, localDir)
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
`, bucket, s3Endpoint, bucket)
	}
	return cfg
}
