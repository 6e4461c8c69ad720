package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// BenchmarkVaultRestore restores the same raft snapshot into the running server it was
// taken from, per flavor:
//
//   - classic: `<vault> operator raft snapshot restore FILE` of a snapshot saved with
//     `snapshot save`, then waiting until the node is active again;
//   - lifeboat: `lifeboat restore vault --snapshot latest --from local`, from a backup
//     lifeboat took to a directory destination; it verifies the backup in full first, then
//     streams it in and waits until a leader is active. It reports its wall time as a
//     multiple of classic's.
//
// Both are taken once, untimed, before the sub-benchmarks; every iteration restores the
// same data and reads a secret back afterwards.
func BenchmarkVaultRestore(b *testing.B) {
	bins := buildBinaries(b)
	for _, flavor := range testenv.Flavors {
		b.Run(string(flavor), func(b *testing.B) {
			e := newRestoreEnv(b, flavor, bins)
			b.Run("classic", e.benchClassic)
			b.Run("lifeboat", e.benchLifeboat)
		})
	}
}

type vaultRestoreEnv struct {
	bins          binaries
	vault         *testenv.Vault
	snapFile      string // saved by the CLI
	config        string // a directory destination that holds lifeboat's backup
	snapshotBytes int64
	lifeboatEnv   []string
	vaultCLIEnv   []string
	classicWall   time.Duration
}

func newRestoreEnv(b *testing.B, flavor testenv.Flavor, bins binaries) *vaultRestoreEnv {
	b.Helper()
	bins.vault = testenv.Binary(b, string(flavor))
	e := &vaultRestoreEnv{bins: bins}
	dir := testenv.TempDir(b, "bench-restore-"+string(flavor))
	staging, local := filepath.Join(dir, "staging"), filepath.Join(dir, "backups")
	for _, d := range []string{staging, local} {
		if err := os.Mkdir(d, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	var tokenFile string
	e.vault, tokenFile, e.vaultCLIEnv, e.snapshotBytes = grownVault(b, flavor, dir, staging)
	e.config = filepath.Join(dir, "lifeboat.yaml")
	if err := os.WriteFile(e.config, []byte(vaultConfig(e.vault.Addr(), tokenFile, local, nil)), 0o600); err != nil {
		b.Fatal(err)
	}
	e.lifeboatEnv = []string{"TMPDIR=" + staging, "LIFEBOAT_LOG_FORMAT=text"}

	// Untimed: the two backups every iteration restores.
	e.snapFile = filepath.Join(dir, "vault.snap")
	e.bins.run(b, e.vaultCLIEnv, e.bins.vault, "operator", "raft", "snapshot", "save", e.snapFile)
	_, out := e.bins.run(b, e.lifeboatEnv, e.bins.lifeboat, "--config", e.config, "backup", "vault")
	b.Logf("lifeboat backup said:\n%s", out)
	// Untimed, so that every measured restore starts from the same state: a server that
	// has already installed a restored snapshot, not the freshly grown one.
	e.bins.run(b, e.vaultCLIEnv, e.bins.vault, "operator", "raft", "snapshot", "restore", e.snapFile)
	if err := e.waitActive(); err != nil {
		b.Fatal(err)
	}
	e.writeMarker(b)
	return e
}

func (e *vaultRestoreEnv) benchClassic(b *testing.B) {
	var st stats
	b.SetBytes(e.snapshotBytes)
	for b.Loop() {
		start := time.Now()
		u, _ := e.bins.run(b, e.vaultCLIEnv, e.bins.vault, "operator", "raft", "snapshot", "restore", e.snapFile)
		st.add("snapshot restore", u)
		// The CLI returns when the server has accepted the snapshot; a script must still
		// wait for the node to serve again, which lifeboat does itself.
		active := time.Now()
		if err := e.waitActive(); err != nil {
			b.Fatal(err)
		}
		st.add("wait active", usage{wall: time.Since(active)})
		st.endRun(0, time.Since(start))

		b.StopTimer()
		e.checkRestored(b)
		b.StartTimer()
	}
	st.report(b, size{"snapshot-MiB", e.snapshotBytes})
	e.classicWall = st.meanWall()
}

func (e *vaultRestoreEnv) benchLifeboat(b *testing.B) {
	var st stats
	b.SetBytes(e.snapshotBytes)
	for b.Loop() {
		u, out := e.bins.run(b, e.lifeboatEnv, e.bins.lifeboat, "--config", e.config,
			"restore", "vault", "--snapshot", "latest", "--from", "local")
		st.add("lifeboat", u)
		st.endRun(0, u.wall)

		b.StopTimer()
		if st.runs == 1 {
			b.Logf("lifeboat said:\n%s", out)
		}
		e.checkRestored(b)
		b.StartTimer()
	}
	st.report(b, size{"snapshot-MiB", e.snapshotBytes})
	if e.classicWall > 0 {
		r := st.meanWall().Seconds() / e.classicWall.Seconds()
		b.ReportMetric(r, "x-classic")
		b.Logf("lifeboat's wall time over the classic restore's of this run: %.3f", r)
	}
}

// waitActive polls, every 50 ms for up to 10 minutes, until the node is initialised,
// unsealed and active.
func (e *vaultRestoreEnv) waitActive() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := e.vault.Client()
	for {
		h, err := c.Sys().HealthWithContext(ctx)
		if err == nil && h.Initialized && !h.Sealed && !h.Standby {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vault not active 10 minutes after the restore (last: %+v, %v)", h, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// markerPath is a secret written after the backups were taken: a restore removes it.
const markerPath = "bulk/written-after-the-backup"

func (e *vaultRestoreEnv) writeMarker(b *testing.B) {
	b.Helper()
	if _, err := e.vault.Client().Logical().Write(markerPath, map[string]any{"v": "x"}); err != nil {
		b.Fatalf("write %s: %v", markerPath, err)
	}
}

// checkRestored checks that the restore left a working, unsealed cluster holding the
// backup's data and nothing written since (so the restore really happened), then writes
// the marker again for the next iteration.
func (e *vaultRestoreEnv) checkRestored(b *testing.B) {
	b.Helper()
	if err := e.waitActive(); err != nil {
		b.Fatal(err)
	}
	c := e.vault.Client()
	s, err := c.Logical().Read("bulk/blob-00000")
	if err != nil || s == nil || s.Data["v"] == nil {
		b.Fatalf("read bulk/blob-00000 after the restore: %v (secret %v)", err, s)
	}
	if s, err := c.Logical().Read(markerPath); err != nil || s != nil {
		b.Fatalf("%s, written after the backup, is still there after the restore (%v): the restore did not happen", markerPath, err)
	}
	e.writeMarker(b)
}
