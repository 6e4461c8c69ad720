// Package bench measures lifeboat against the shell pipeline it replaces, on real servers.
//
// The benchmarks are heavy (a Vault grown to hundreds of MiB, MinIO, subprocesses), so all
// setup happens inside the Benchmark functions: `go test ./...` compiles this package and
// runs nothing. Run them as docs/benchmarks.md says.
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// BenchmarkVaultBackup backs up one raft snapshot to three destinations (a directory and
// two MinIO buckets), once with `lifeboat backup vault` and once with the classic script:
// `<vault> operator raft snapshot save` to a staging file, then cp to the directory and an
// upload to each bucket in turn. Every step is a child process, so its peak RSS and CPU
// come from the kernel (wait4 rusage), measured the same way for both. A third run,
// lifeboat-local-only, backs up to the directory alone: its difference to lifeboat is
// what the two S3 uploads cost.
func BenchmarkVaultBackup(b *testing.B) {
	bins := buildBinaries(b)
	for _, flavor := range testenv.Flavors {
		b.Run(string(flavor), func(b *testing.B) {
			e := newBenchEnv(b, flavor, bins)
			b.Run("lifeboat", e.benchLifeboat(true))
			b.Run("classic", e.benchClassic)
			b.Run("lifeboat-local-only", e.benchLifeboat(false, "--destination", "local"))
		})
	}
}

// benchLifeboat runs `lifeboat backup vault` with extra arguments: none for the three
// destinations, or "--destination local" to see what the two S3 destinations add.
func (e *benchEnv) benchLifeboat(s3 bool, extra ...string) func(b *testing.B) {
	return func(b *testing.B) {
		var st stats
		b.SetBytes(e.snapshotBytes)
		args := append([]string{e.bins.lifeboat, "--config", e.config, "backup", "vault"}, extra...)
		for b.Loop() {
			disk := watchDisk(e.staging)
			u, out := e.bins.run(b, e.lifeboatEnv, args...)
			st.add("lifeboat", u)
			st.endRun(disk())

			b.StopTimer()
			if st.runs == 1 {
				b.Logf("lifeboat said:\n%s", out)
			}
			e.checkAndClear(b, s3)
			b.StartTimer()
		}
		st.report(b, size{"snapshot-MiB", e.snapshotBytes})
	}
}

func (e *benchEnv) benchClassic(b *testing.B) {
	var st stats
	b.SetBytes(e.snapshotBytes)
	for b.Loop() {
		disk := watchDisk(e.staging)
		snap := filepath.Join(e.staging, "vault.snap")
		name := fmt.Sprintf("vault-%s.snap", time.Now().UTC().Format("20060102T150405.000Z"))
		u, _ := e.bins.run(b, e.vaultCLIEnv, e.bins.vault, "operator", "raft", "snapshot", "save", snap)
		st.add("snapshot save", u)
		u, _ = e.bins.run(b, nil, "cp", snap, filepath.Join(e.localDir, name))
		st.add("cp", u)
		// In turn, as the scripts do (`mc cp` per bucket): a parallel version would need
		// the same staging file and hold one upload's memory per bucket at once.
		for _, bucket := range buckets {
			u, _ = e.bins.run(b, e.s3Env, e.bins.s3put, "-endpoint", e.minio.Endpoint, snap, bucket, "vault/"+name)
			st.add("s3put", u)
		}
		if err := os.Remove(snap); err != nil {
			b.Fatalf("remove the staging file: %v", err)
		}
		st.endRun(disk())

		b.StopTimer()
		e.checkAndClear(b, true)
		b.StartTimer()
	}
	st.report(b, size{"snapshot-MiB", e.snapshotBytes})
}
