package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// runRoot runs the CLI like main does, without runCLI's fixed --log-format, and restores
// the default logger the run replaced.
func runRoot(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case err != nil:
		code = exitFailure
	}
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

func TestVersion(t *testing.T) {
	out, errOut, code := runRoot(t, "version")
	re := regexp.MustCompile(`^lifeboat \S+ \(go1\.\S+, ` + runtime.GOOS + `/` + runtime.GOARCH + `(, commit [0-9a-f]+[^)]*|; built without a version stamp or VCS information)?\)\n$`)
	if code != exitOK || !re.MatchString(out) {
		t.Errorf("version: exit %d, %q %s; want a line matching %s", code, out, errOut, re)
	}

	out, errOut, code = runRoot(t, "version", "--json")
	var v map[string]any
	if code != exitOK {
		t.Fatalf("version --json: exit %d %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version --json printed %q: %v", out, err)
	}
	if v["version"] == "" || v["go"] != runtime.Version() || v["platform"] != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version --json = %v", v)
	}
	for k := range v {
		if !slices.Contains([]string{"version", "go", "platform", "commit", "commitTime", "modified"}, k) {
			t.Errorf("version --json has an unexpected field %q", k)
		}
	}
}

func TestLogFormat(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want string // "text" or "json"
	}{
		{"text", []string{"--log-format", "text"}, "", "text"},
		{"json", []string{"--log-format", "json"}, "", "json"},
		{"auto off a terminal is json", []string{"--log-format", "auto"}, "", "json"},
		{"default is auto", nil, "", "json"},
		{"from the environment", nil, "text", "text"},
		{"flag over environment", []string{"--log-format", "json"}, "text", "json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LIFEBOAT_LOG_FORMAT", tc.env)
			prev := slog.Default()
			t.Cleanup(func() { slog.SetDefault(prev) })
			cmd := newRootCmd()
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(append(tc.args, "version"))
			if err := cmd.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			// Commands log through the default logger the root installed, to stderr.
			slog.Info("probe", "destination", "local")
			line := strings.TrimSpace(errOut.String())
			switch tc.want {
			case "text":
				if !strings.Contains(line, "level=INFO msg=probe destination=local") {
					t.Errorf("text log line = %q", line)
				}
			case "json":
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] != "probe" || rec["level"] != "INFO" || rec["destination"] != "local" {
					t.Errorf("json log line = %q (%v)", line, err)
				}
			}
			if strings.Contains(out.String(), "probe") {
				t.Errorf("logs went to stdout: %q", out.String())
			}
		})
	}
}

func writeConfig(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFlagAndEnv(t *testing.T) {
	backups := t.TempDir()
	good := writeConfig(t, "good.yaml", fmt.Sprintf(`
sources: [{name: vault, kind: vault, vault: {address: "http://127.0.0.1:1"}}]
destinations: [{name: local, kind: file, file: {path: %s}}]
`, backups))
	bad := writeConfig(t, "bad.yaml", fmt.Sprintf(`
sources: [{name: vault, kind: vault, vault: {address: "http://127.0.0.1:1"}}]
destinations:
  - {name: local, kind: file, file: {path: %s}}
  - {name: offsite, kind: s3, s3: {endpoint: "127.0.0.1:9000"}}
`, backups))
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	tests := []struct {
		name    string
		env     string
		args    []string
		code    int
		wantErr []string
	}{
		{"--config", "", []string{"--config", good}, exitOK, nil},
		{"LIFEBOAT_CONFIG", good, nil, exitOK, nil},
		{"bad config names the field", bad, nil, exitUsage, []string{bad, "destinations[1].s3.bucket: required"}},
		{"--config wins over LIFEBOAT_CONFIG", bad, []string{"-c", good}, exitOK, nil},
		{"missing file says how to point at one", missing, nil, exitUsage, []string{missing, "--config or LIFEBOAT_CONFIG"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LIFEBOAT_CONFIG", tc.env)
			out, errOut, code := runRoot(t, append(tc.args, "--log-format", "text", "list")...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not contain %q", errOut, w)
				}
			}
			if tc.code == exitOK && !strings.Contains(out, "(no backups)") {
				t.Errorf("list printed %q", out)
			}
		})
	}
}

func TestUsageErrorsExit3(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"bogus"}, []string{`unknown command "bogus" for "lifeboat"`, "lifeboat --help"}},
		{[]string{"versoin"}, []string{`unknown command "versoin"`, "did you mean version?"}},
		{[]string{"vault", "bogus"}, []string{`unknown command "bogus" for "lifeboat vault"`}},
		{[]string{"verify"}, []string{"accepts 1 arg(s), received 0", "lifeboat verify --help"}},
		{[]string{"version", "extra"}, []string{`"extra"`, "lifeboat version --help"}},
		{[]string{"list", "a", "b"}, []string{"accepts at most 1 arg(s), received 2"}},
		{[]string{"vault", "auto-restore", "extra"}, []string{`"extra"`}},
		{[]string{"version", "--no-such-flag"}, []string{"unknown flag: --no-such-flag"}},
		{[]string{"--log-format", "yaml", "version"}, []string{`--log-format: must be text, json or auto (got "yaml")`}},
		{[]string{"--log-level", "loud", "version"}, []string{"--log-level"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := runRoot(t, tc.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitUsage, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not contain %q", errOut, w)
				}
			}
		})
	}
}

// Commands that only group others still show their help, successfully.
func TestGroupCommandsShowHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"vault"}} {
		out, errOut, code := runRoot(t, args...)
		if code != exitOK || !strings.Contains(out, "Available Commands:") {
			t.Errorf("%q: exit %d\n%s%s", args, code, out, errOut)
		}
	}
}

// A Pushgateway URL with credentials is refused before the backup starts (the source is
// never contacted, nothing is written), and the credentials are never echoed.
func TestBackupChecksThePushgatewayFirst(t *testing.T) {
	backups := t.TempDir()
	cfg := writeConfig(t, "lifeboat.yaml", fmt.Sprintf(`
sources: [{name: vault, kind: vault, vault: {address: "http://127.0.0.1:1"}}]
destinations: [{name: local, kind: file, file: {path: %s}}]
`, backups))
	for _, args := range [][]string{
		{"backup", "vault", "--pushgateway", "http://ops:hunter2@127.0.0.1:9091"},
		{"backup", "vault", "--pushgateway", "pushgateway:9091"},
		{"drill", "vault", "--pushgateway", "http://ops:hunter2@127.0.0.1:9091"},
	} {
		out, errOut, code := runRoot(t, append([]string{"--config", cfg, "--log-format", "text"}, args...)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s%s", args, code, exitUsage, out, errOut)
		}
		if strings.Contains(out+errOut, "hunter2") {
			t.Errorf("%v: the password was echoed:\n%s%s", args, out, errOut)
		}
		if !strings.Contains(errOut, "Pushgateway URL") || strings.Contains(errOut, "127.0.0.1:1") {
			t.Errorf("%v: want a Pushgateway error before any contact with the source, got:\n%s", args, errOut)
		}
	}
	if entries, _ := os.ReadDir(backups); len(entries) != 0 {
		t.Errorf("a refused run wrote %d entries into the destination", len(entries))
	}
}
