package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestReadVersion(t *testing.T) {
	const rev = "e72eee8d0bcc5f315da856516634add283251186"
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
		{Key: "vcs.time", Value: "2026-12-01T23:02:15Z"}, {Key: "vcs.modified", Value: "true"}}
	info := func(mainVersion string, settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "github.com/lifeboat-backup/lifeboat", Version: mainVersion}, Settings: settings}
	}
	for _, tc := range []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		ok      bool
		want    buildVersion
		line    string // what `lifeboat version` prints after "lifeboat ", up to the Go version
	}{
		{"stamped wins, the commit is shown too", "v1.2.3", info("(devel)", vcs...), true,
			buildVersion{Version: "v1.2.3", Commit: rev, CommitTime: "2026-12-01T23:02:15Z", Modified: true}, "v1.2.3 ("},
		{"go install of a release", "", info("v1.2.3"), true, buildVersion{Version: "v1.2.3"}, "v1.2.3 ("},
		{"go build in a checkout (Go 1.24+)", "", info("v0.0.0-20261201230215-e72eee8d0bcc+dirty", vcs...), true,
			buildVersion{Version: "v0.0.0-20261201230215-e72eee8d0bcc+dirty", Commit: rev, CommitTime: "2026-12-01T23:02:15Z", Modified: true},
			"v0.0.0-20261201230215-e72eee8d0bcc+dirty ("},
		{"only the commit recorded", "", info("(devel)", vcs[:3]...), true,
			buildVersion{Version: "devel-e72eee8d0bcc", Commit: rev, CommitTime: "2026-12-01T23:02:15Z"}, "devel-e72eee8d0bcc ("},
		{"only the commit recorded, uncommitted changes", "", info("(devel)", vcs...), true,
			buildVersion{Version: "devel-e72eee8d0bcc-dirty", Commit: rev, CommitTime: "2026-12-01T23:02:15Z", Modified: true}, "devel-e72eee8d0bcc-dirty ("},
		{"no VCS information (-buildvcs=false)", "", info("(devel)"), true, buildVersion{Version: "dev"}, "dev ("},
		{"no build info", "", nil, false, buildVersion{Version: "dev"}, "dev ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readVersion(tc.stamped, tc.info, tc.ok)
			if got != tc.want {
				t.Fatalf("readVersion = %+v, want %+v", got, tc.want)
			}
			line := got.String()
			if !strings.HasPrefix(line, tc.line) {
				t.Errorf("version line %q does not start with %q", line, tc.line)
			}
			if got.Commit != "" && !strings.Contains(line, "commit "+rev+" of 2026-12-01T23:02:15Z") {
				t.Errorf("version line %q does not name the commit and its time", line)
			}
			if got.Version == "dev" && !strings.Contains(line, "without a version stamp or VCS information") {
				t.Errorf("version line %q does not say why it is dev", line)
			}
		})
	}
}

// A plain `go build` in the git checkout (VCS stamping on, Go's default) prints the
// commit the binary was built from, not "dev".
func TestVersionOfAPlainBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lifeboat")
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	head, err := exec.Command(gitBin, "-C", filepath.Join("..", ".."), "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "lifeboat")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=") // this machine's go env may turn VCS stamping off
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v buildVersion
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	rev := strings.TrimSpace(string(head))
	if v.Commit != rev || v.CommitTime == "" || v.Version == "dev" || !strings.Contains(v.Version, rev[:12]) {
		t.Errorf("version of a build at %s: %s", rev, out)
	}
}
