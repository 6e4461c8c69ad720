package testenv

import (
	"os/exec"
	"testing"
)

// ZstdCLI returns the path of the zstd command-line tool (Debian's zstd package), which
// tests use to prove that what lifeboat stores opens with `zstd -d`, as the docs promise.
func ZstdCLI(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("zstd")
	if err != nil {
		Missing(t, "the zstd CLI is not installed: run scripts/install-servers.sh zstd")
	}
	return path
}
