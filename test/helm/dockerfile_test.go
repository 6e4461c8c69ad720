package helm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// newestSupportedPostgres is the newest PostgreSQL server major the docs (admin-guide.md,
// the chart's README) promise backups of; the image's pg_dump must be at least this new.
const newestSupportedPostgres = 17

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY...
	args string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		cont := strings.HasSuffix(trimmed, "\\")
		cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
		if cont {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatal("Dockerfile ends inside a continued line")
	}
	return out
}

// There is no container engine here to build the Dockerfile (scripts/build-image.sh builds
// the same image without one; TestDockerfileMatchesBuildImage keeps them in step), so the
// Dockerfile is checked for what the chart relies on: the binary path the chart runs, a
// non-root numeric user equal to the chart's runAsUser, pg_dump/pg_restore from Debian's
// own PostgreSQL client and CA certificates in a Debian -slim runtime of the script's
// suite, the bao binary drills start, and stages that exist.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, filepath.Join(testenv.RepoRoot(), "Dockerfile"))
	var stages []string
	var final []instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages = append(stages, f[2])
			}
			final = nil
		}
		if in.cmd == "COPY" && strings.HasPrefix(in.args, "--from=") {
			from, _, _ := strings.Cut(strings.TrimPrefix(in.args, "--from="), " ")
			if !slices.Contains(stages, from) {
				t.Errorf("COPY --from=%s: no such stage (stages %v)", from, stages)
			}
		}
		final = append(final, in)
	}
	if !slices.Contains(stages, "build") {
		t.Error("no build stage")
	}
	find := func(cmd, contains string) bool {
		return slices.ContainsFunc(final, func(in instruction) bool { return in.cmd == cmd && strings.Contains(in.args, contains) })
	}
	suite := buildImageVar(t, buildImageVars(t), "DEBIAN_SUITE")
	if final[0].cmd != "FROM" || !strings.HasPrefix(final[0].args, "debian:"+suite+"-slim ") {
		t.Errorf("runtime stage: %s %s, want FROM debian:%s-slim", final[0].cmd, final[0].args, suite)
	}
	if !find("RUN", "ca-certificates") {
		t.Error("runtime stage does not install ca-certificates")
	}
	// The PostgreSQL client: Debian's own (the suite ships the major; no third-party
	// repository, which CI could not reach either), of a major that dumps the servers the
	// docs support (pg_dump refuses a newer server; Bitnami's chart defaults to 17), and the
	// one the chart's binDir default points at.
	pgMajor := 0
	for _, in := range final {
		if v, ok := strings.CutPrefix(in.args, "PG_MAJOR="); in.cmd == "ARG" && ok {
			pgMajor, _ = strconv.Atoi(v)
		}
	}
	if pgMajor < newestSupportedPostgres {
		t.Errorf("runtime stage: ARG PG_MAJOR=%d, want at least %d (the newest PostgreSQL major the docs support)", pgMajor, newestSupportedPostgres)
	}
	if !find("RUN", "postgresql-client-${PG_MAJOR}") {
		t.Error("runtime stage does not install postgresql-client-${PG_MAJOR}")
	}
	if find("RUN", "apt.postgresql.org") || find("RUN", "sources.list") || find("RUN", "curl") {
		t.Errorf("runtime stage adds an apt repository: the PostgreSQL client comes from Debian %s itself", suite)
	}
	if find("RUN", "postgresql-client-15") {
		t.Error("runtime stage still installs Debian's postgresql-client-15, which cannot dump 16 or 17 servers")
	}
	if !find("COPY", "/usr/local/bin/lifeboat") || !find("ENTRYPOINT", "/usr/local/bin/lifeboat") {
		t.Error("the binary must be /usr/local/bin/lifeboat: the chart runs that path")
	}
	if !find("COPY", "/usr/local/bin/bao") {
		t.Error("the runtime lacks bao, which vault drills (drill.vault.binary: bao) start")
	}
	data, err := os.ReadFile(filepath.Join(chartDir(), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		PodSecurityContext struct {
			RunAsUser  int `json:"runAsUser"`
			RunAsGroup int `json:"runAsGroup"`
		} `json:"podSecurityContext"`
		Workflows struct {
			MetadataDatabase struct {
				BinDir string `json:"binDir"`
			} `json:"metadataDatabase"`
		} `json:"workflows"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	if want := "/usr/lib/postgresql/" + strconv.Itoa(pgMajor) + "/bin"; values.Workflows.MetadataDatabase.BinDir != want {
		t.Errorf("values.yaml workflows.metadataDatabase.binDir = %q, want the image's client %s", values.Workflows.MetadataDatabase.BinDir, want)
	}
	// LIFEBOAT_CONFIG is what a `kubectl exec ... lifeboat list` without --config reads:
	// the file the chart mounts.
	helpers, err := os.ReadFile(filepath.Join(chartDir(), "templates", "_helpers.tpl"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`define "lifeboat.configPath" -}}([^{]+){{`).FindSubmatch(helpers)
	if m == nil {
		t.Fatal(`_helpers.tpl: no "lifeboat.configPath" definition`)
	}
	if !find("ENV", "LIFEBOAT_CONFIG="+string(m[1])+" ") {
		t.Errorf("ENV LIFEBOAT_CONFIG must be %s, where the chart mounts the config", m[1])
	}
	want := strconv.Itoa(values.PodSecurityContext.RunAsUser) + ":" + strconv.Itoa(values.PodSecurityContext.RunAsGroup)
	if values.PodSecurityContext.RunAsUser == 0 || !find("USER", want) {
		t.Errorf("USER must be the chart's non-root runAsUser:runAsGroup %s", want)
	}
	if !slices.ContainsFunc(ins, func(in instruction) bool {
		return in.cmd == "RUN" && strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/lifeboat")
	}) {
		t.Error("no go build of ./cmd/lifeboat")
	}
}

// buildImageVars reads the NAME=value lines of scripts/build-image.sh (the first one of
// each name), without their quotes.
func buildImageVars(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "scripts", "build-image.sh"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	assign := regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(.*)$`)
	for _, line := range strings.Split(string(data), "\n") {
		m := assign.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, seen := vars[m[1]]; seen {
			continue
		}
		v := m[2]
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[m[1]] = v
	}
	return vars
}

// buildImageVar is one of those values, which the tests need plain.
func buildImageVar(t *testing.T, vars map[string]string, name string) string {
	t.Helper()
	v, ok := vars[name]
	if !ok || v == "" || strings.ContainsAny(v, "$`") {
		t.Fatalf("scripts/build-image.sh: want a plain %s=value line near the top, got %q", name, v)
	}
	return v
}

// jsonArgs decodes an exec-form (JSON array) ENTRYPOINT or CMD.
func jsonArgs(t *testing.T, what, s string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Errorf("%s %s: want a JSON array (exec form): %v", what, s, err)
	}
	return out
}

// The Dockerfile and scripts/build-image.sh (`make image`, what CI builds) describe the same
// image: Debian suite, PostgreSQL client major and packages, user and group, home and
// config directories, binary paths, build flags, working directory, environment,
// entrypoint and default arguments.
func TestDockerfileMatchesBuildImage(t *testing.T) {
	root := testenv.RepoRoot()
	vars := buildImageVars(t)
	v := func(name string) string { return buildImageVar(t, vars, name) }
	ins := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	var final []instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			final = nil
		}
		final = append(final, in)
	}
	last := func(cmd string) string {
		for i := len(final) - 1; i >= 0; i-- {
			if final[i].cmd == cmd {
				return final[i].args
			}
		}
		t.Errorf("Dockerfile runtime stage: no %s", cmd)
		return ""
	}
	runs := ""
	for _, in := range final {
		if in.cmd == "RUN" {
			runs += in.args + "\n"
		}
	}

	if want := "debian:" + v("DEBIAN_SUITE") + "-slim"; !strings.HasPrefix(final[0].args, want+" ") {
		t.Errorf("Dockerfile runtime: FROM %s; build-image.sh builds Debian %s (want FROM %s)", final[0].args, v("DEBIAN_SUITE"), want)
	}

	major := v("PG_MAJOR")
	if !slices.Contains(final, instruction{"ARG", "PG_MAJOR=" + major}) {
		t.Errorf("Dockerfile runtime: no ARG PG_MAJOR=%s, build-image.sh's PG_MAJOR", major)
	}
	// The same packages, postgresql-client-${PG_MAJOR} standing for the script's literal one.
	m := regexp.MustCompile(`apt-get install -y --no-install-recommends ([^&]+)`).FindStringSubmatch(runs)
	if m == nil {
		t.Fatal("Dockerfile runtime: no apt-get install -y --no-install-recommends")
	}
	dockerPkgs := strings.Fields(strings.ReplaceAll(m[1], "${PG_MAJOR}", major))
	scriptPkgs := strings.Split(v("PACKAGES"), ",")
	slices.Sort(dockerPkgs)
	slices.Sort(scriptPkgs)
	if !slices.Equal(dockerPkgs, scriptPkgs) {
		t.Errorf("packages: Dockerfile installs %v, build-image.sh %v", dockerPkgs, scriptPkgs)
	}
	if !slices.Contains(scriptPkgs, "postgresql-client-"+major) {
		t.Errorf("build-image.sh: PACKAGES %s lacks postgresql-client-%s (PG_MAJOR)", v("PACKAGES"), major)
	}

	uid, gid, user, home, conf := v("APP_UID"), v("APP_GID"), v("APP_USER"), v("APP_HOME"), v("CONFIG_DIR")
	if uid != "65532" || gid != "65532" {
		t.Errorf("build-image.sh: APP_UID/APP_GID %s/%s, want 65532 (the chart's runAsUser)", uid, gid)
	}
	for _, want := range []string{
		"groupadd --system --gid " + gid + " " + user,
		"useradd --system --uid " + uid + " --gid " + gid + " --home-dir " + home + " ",
		"install -d -o " + uid + " -g " + gid + " -m 0750 " + home + " " + conf,
	} {
		if !strings.Contains(runs, want) {
			t.Errorf("Dockerfile runtime: no RUN with %q (build-image.sh's user, group and directories)", want)
		}
	}
	if got := last("USER"); got != uid+":"+gid {
		t.Errorf("Dockerfile: USER %s, build-image.sh %s:%s", got, uid, gid)
	}
	if got := last("WORKDIR"); got != home {
		t.Errorf("Dockerfile: WORKDIR %s, build-image.sh %s", got, home)
	}

	copies := map[string]string{} // stage -> destination
	for _, in := range final {
		if f := strings.Fields(in.args); in.cmd == "COPY" && len(f) == 3 && strings.HasPrefix(f[0], "--from=") {
			copies[strings.TrimPrefix(f[0], "--from=")] = f[2]
		}
	}
	if copies["build"] != v("LIFEBOAT_BIN") || copies["openbao"] != v("BAO_BIN") {
		t.Errorf("binaries: Dockerfile copies lifeboat to %q and bao to %q, build-image.sh puts them at %s and %s",
			copies["build"], copies["openbao"], v("LIFEBOAT_BIN"), v("BAO_BIN"))
	}
	if ep := jsonArgs(t, "ENTRYPOINT", last("ENTRYPOINT")); !slices.Equal(ep, jsonArgs(t, "build-image.sh ENTRYPOINT", v("ENTRYPOINT"))) || !slices.Equal(ep, []string{v("LIFEBOAT_BIN")}) {
		t.Errorf("ENTRYPOINT: Dockerfile %s, build-image.sh %s, binary %s", last("ENTRYPOINT"), v("ENTRYPOINT"), v("LIFEBOAT_BIN"))
	}
	if !slices.Equal(jsonArgs(t, "CMD", last("CMD")), jsonArgs(t, "build-image.sh CMD", v("CMD"))) {
		t.Errorf("CMD: Dockerfile %s, build-image.sh %s", last("CMD"), v("CMD"))
	}
	env := map[string]string{}
	for _, in := range final {
		if in.cmd == "ENV" {
			for _, kv := range strings.Fields(in.args) {
				k, val, _ := strings.Cut(kv, "=")
				env[k] = val
			}
		}
	}
	if env["LIFEBOAT_CONFIG"] != v("CONFIG_FILE") || env["LIFEBOAT_LOG_FORMAT"] != v("LOG_FORMAT") {
		t.Errorf("ENV: Dockerfile LIFEBOAT_CONFIG=%s LIFEBOAT_LOG_FORMAT=%s, build-image.sh %s and %s",
			env["LIFEBOAT_CONFIG"], env["LIFEBOAT_LOG_FORMAT"], v("CONFIG_FILE"), v("LOG_FORMAT"))
	}

	// The same static build of lifeboat.
	script, err := os.ReadFile(filepath.Join(root, "scripts", "build-image.sh"))
	if err != nil {
		t.Fatal(err)
	}
	build := regexp.MustCompile(`CGO_ENABLED=0 go build (-trimpath -ldflags "[^"]*")`)
	df := build.FindStringSubmatch(strings.ReplaceAll(runsAll(ins), "${VERSION}", "$VERSION"))
	sc := build.FindSubmatch(script)
	if df == nil || sc == nil || df[1] != string(sc[1]) {
		t.Errorf("go build flags differ: Dockerfile %q, build-image.sh %q", df, sc)
	}
}

// runsAll joins every RUN of every stage.
func runsAll(ins []instruction) string {
	var b strings.Builder
	for _, in := range ins {
		if in.cmd == "RUN" {
			b.WriteString(in.args + "\n")
		}
	}
	return b.String()
}
