package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// binaries are the programs the benchmarks run as child processes.
type binaries struct {
	dir      string // also holds the launcher's rusage files
	lifeboat string
	s3put    string // stands in for `mc cp`
	snapread string // the read limit: the snapshot read to io.Discard
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
		{&bins.snapread, "./test/bench/internal/snapread"},
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

// vaultMiB is the snapshot size to grow Vault to; LIFEBOAT_BENCH_VAULT_MB lowers it for a
// quick local run, or raises it (2000 for the 2 GB case).
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

// intList reads the environment variable name as a comma-separated list of integers at
// least least, or returns def when it is unset.
func intList(b *testing.B, name string, def []int, least int) []int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < least {
			b.Fatalf("%s=%q: want a comma-separated list of whole numbers >= %d", name, s, least)
		}
		ns = append(ns, n)
	}
	return ns
}

// grownVault starts one Vault flavor and grows it to the benchmark size; it returns the
// server, a file holding its root token, the environment its CLI needs, and the
// snapshot's size.
func grownVault(b *testing.B, flavor testenv.Flavor, dir, staging string) (v *testenv.Vault, tokenFile string, cliEnv []string, snapshotBytes int64) {
	b.Helper()
	v = testenv.StartVault(b, flavor)
	tokenFile = filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(v.RootToken+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	// OpenBao reads BAO_*, HashiCorp Vault VAULT_*; set both so that whatever the
	// developer's shell exports cannot point the CLI elsewhere. The CLI's default client
	// timeout (60 s) would cut a 2 GB snapshot short on a busy machine.
	cliEnv = []string{"TMPDIR=" + staging,
		"BAO_ADDR=" + v.Addr(), "BAO_TOKEN=" + v.RootToken, "BAO_CLIENT_TIMEOUT=1h",
		"VAULT_ADDR=" + v.Addr(), "VAULT_TOKEN=" + v.RootToken, "VAULT_CLIENT_TIMEOUT=1h"}
	want := vaultMiB(b)
	start := time.Now()
	snapshotBytes = growVault(b, v.Client(), want)
	b.Logf("%s: snapshot is %.1f MiB (wanted >= %d MiB), grown in %s",
		flavor, float64(snapshotBytes)/(1<<20), want, time.Since(start).Round(time.Second))
	return v, tokenFile, cliEnv, snapshotBytes
}

// s3Dest is one S3 destination of a lifeboat configuration: a bucket, reached at
// endpoint (MinIO itself, or the throttle in front of it).
type s3Dest struct {
	bucket, endpoint string
}

// vaultConfig backs the Vault up to the directory localDir (none when "") and the S3
// destinations, named after their buckets, with default part sizes (16 MiB, the same as
// the classic uploads use) and no retention, so that the benchmark's own cleanup is the
// only deletion.
func vaultConfig(vaultAddr, tokenFile, localDir string, s3 []s3Dest) string {
	cfg := fmt.Sprintf(`sources:
  - name: vault
    kind: vault
    vault:
      address: %s
      auth:
        token: {file: %s}
destinations:
`, vaultAddr, tokenFile)
	if localDir != "" {
		cfg += fmt.Sprintf(`  - name: local
    kind: file
    file: {path: %s}
`, localDir)
	}
	for _, d := range s3 {
		cfg += fmt.Sprintf(`  - name: %s
    kind: s3
    s3:
      endpoint: %s
      bucket: %s
      pathStyle: true
      insecure: true
      accessKeyID: {env: BENCH_S3_ACCESS_KEY}
      secretAccessKey: {env: BENCH_S3_SECRET_KEY}
`, d.bucket, d.endpoint, d.bucket)
	}
	return cfg
}
