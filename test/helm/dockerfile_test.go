package helm

import (
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

// The image cannot be built here (no container engine), so its Dockerfile is checked for
// what the chart relies on: the binary path the chart runs, a non-root numeric user equal
// to the chart's runAsUser, pg_dump/pg_restore and CA certificates in a Debian bookworm-slim
// runtime, the bao binary drills start, and stages that exist.
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
	if final[0].cmd != "FROM" || !strings.HasPrefix(final[0].args, "debian:bookworm-slim") {
		t.Errorf("runtime stage: %s %s, want FROM debian:bookworm-slim", final[0].cmd, final[0].args)
	}
	if !find("RUN", "ca-certificates") {
		t.Error("runtime stage does not install ca-certificates")
	}
	// The PostgreSQL client: PGDG's, of a major that dumps the servers the docs support
	// (pg_dump refuses a newer server; Bitnami's chart defaults to 17), and the one the
	// chart's binDir default points at.
	pgMajor := 0
	for _, in := range final {
		if v, ok := strings.CutPrefix(in.args, "PG_MAJOR="); in.cmd == "ARG" && ok {
			pgMajor, _ = strconv.Atoi(v)
		}
	}
	if pgMajor < newestSupportedPostgres {
		t.Errorf("runtime stage: ARG PG_MAJOR=%d, want at least %d (the newest PostgreSQL major the docs support)", pgMajor, newestSupportedPostgres)
	}
	if !find("RUN", "apt.postgresql.org/pub/repos/apt bookworm-pgdg main") || !find("RUN", "postgresql-client-${PG_MAJOR}") {
		t.Error("runtime stage does not install postgresql-client-${PG_MAJOR} from the PGDG repository (bookworm-pgdg)")
	}
	if !find("RUN", "B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8") {
		t.Error("runtime stage does not check the PGDG signing key's fingerprint before trusting it")
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
