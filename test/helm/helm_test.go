// Package helm tests the Helm chart in deploy/helm/lifeboat: helm lint, golden renders of
// the example value sets, a strict decode of every rendered object into the Kubernetes API
// types, the rendered lifeboat config against lifeboat's own parser, a server-side dry run
// against a real kube-apiserver, and the rendered CronJob commands run against real
// OpenBao, MinIO and PostgreSQL servers.
//
// helm is built from the Go module proxy by scripts/install-servers.sh helm; without it
// these tests skip (and fail under CI=true).
package helm

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the current chart")

// Release name and namespace every render uses, so goldens are stable.
const (
	releaseName = "lifeboat"
	namespace   = "lifeboat"
	// kubeVersion is the test kube-apiserver's (scripts/install-servers.sh KUBE_VERSION);
	// helm template otherwise assumes an old default.
	kubeVersion = "1.33.13"
)

// valueSet is one of the example value files the chart is tested with, or several given
// together (later files override earlier ones, as with helm's repeated --values).
type valueSet struct {
	name  string   // also the golden file's name
	files []string // relative to the repository root
}

var valueSets = []valueSet{
	{"minimal", []string{"deploy/examples/lifeboat-minimal.yaml"}},
	{"full", []string{"deploy/examples/lifeboat-full.yaml"}},
	{"agent", []string{"deploy/examples/lifeboat-agent.yaml"}},
	// The full values during a restore: restore Jobs, backups suspended.
	{"restore", []string{"deploy/examples/lifeboat-full.yaml", "deploy/examples/lifeboat-restore.yaml"}},
	// The whole platform, configuration included, in the chart's own keys and in the values
	// shape platform charts write (aliases_test.go: both render the same objects).
	{"platform", []string{"deploy/examples/lifeboat-platform.yaml"}},
	{"platform-seed", []string{"deploy/examples/lifeboat-platform-seed.yaml"}},
	{"platform-restore", []string{"deploy/examples/lifeboat-platform.yaml", "deploy/examples/lifeboat-platform-restore.yaml"}},
	// An auto-unsealed (Transit) cluster: drills with the seal, auto-restore without keys.
	{"transit", []string{"deploy/examples/lifeboat-transit.yaml"}},
	// Azure Blob Storage: Workload Identity and a SAS token from a Secret.
	{"azure", []string{"deploy/examples/lifeboat-azure.yaml"}},
	// Google Cloud Storage: Workload Identity for one bucket, a key Secret for the other.
	{"gcs", []string{"deploy/examples/lifeboat-gcs.yaml"}},
}

// restoring reports whether the value set renders restore Jobs.
func (v valueSet) restoring() bool { return strings.HasSuffix(v.name, "restore") }

// valueSetNamed returns the value set of that name.
func valueSetNamed(name string) valueSet {
	for _, v := range valueSets {
		if v.name == name {
			return v
		}
	}
	panic("no value set " + name)
}

func chartDir() string { return filepath.Join(testenv.RepoRoot(), "deploy", "helm", "lifeboat") }

// paths are the value set's files as absolute paths.
func (v valueSet) paths() []string {
	var out []string
	for _, f := range v.files {
		out = append(out, filepath.Join(testenv.RepoRoot(), f))
	}
	return out
}

// valuesArgs are helm's --values flags for the set.
func (v valueSet) valuesArgs() []string {
	var out []string
	for _, p := range v.paths() {
		out = append(out, "--values", p)
	}
	return out
}

// helmBin is the helm binary from .tools/bin, or the test skips (fails under CI=true).
func helmBin(t testing.TB) string {
	t.Helper()
	return testenv.Binary(t, "helm")
}

// runHelm runs helm with a private home so no user config or plugin interferes.
func runHelm(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runHelmEnv(t, nil, args...)
}

// runHelmEnv is runHelm with more environment variables (KUBECONFIG).
func runHelmEnv(t testing.TB, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBin(t), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// render runs helm template with the value files (and --set pairs) given.
func render(t testing.TB, valueFiles []string, sets ...string) string {
	t.Helper()
	args := []string{"template", releaseName, chartDir(), "--namespace", namespace, "--kube-version", kubeVersion}
	for _, f := range valueFiles {
		args = append(args, "--values", f)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, errOut, err := runHelm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// renderSet renders one example value set.
func renderSet(t testing.TB, v valueSet) string {
	t.Helper()
	return render(t, v.paths())
}
