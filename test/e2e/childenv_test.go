package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The programs lifeboat starts see none of its secrets: pg_dump, pg_dumpall, pg_restore
// and psql (wrapped here to record their environment before they run) and the restore
// hooks get the minimal environment, plus libpq's password and what restore.passEnv
// names. lifeboat's own S3 key and the canaries in its environment stay with it.
func TestChildrenSeeNoSecrets(t *testing.T) {
	envDir := t.TempDir()
	hooks := fmt.Sprintf(`    restore:
      before: [["/bin/sh", "-c", "env > %[1]s/before.env"]]
      after: [["/bin/sh", "-c", "env > %[1]s/after.env"]]
      passEnv: [LIFEBOAT_TEST_PASSED]`, envDir)
	s := newPgSetup(t, hooks, "")
	wrappers := t.TempDir()
	for _, tool := range []string{"pg_dump", "pg_dumpall", "pg_restore", "psql"} {
		script := fmt.Sprintf("#!/bin/sh\nenv > %s/%s.$$.env\nexec %s \"$@\"\n", envDir, tool, filepath.Join(s.pg.BinDir, tool))
		writeFile(t, filepath.Join(wrappers, tool), script)
		if err := os.Chmod(filepath.Join(wrappers, tool), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := strings.Replace(readFile(t, s.config), "binDir: "+s.pg.BinDir, "binDir: "+wrappers, 1)
	writeFile(t, s.config, cfg)
	s.env = append(s.env, "LIFEBOAT_TEST_CANARY=canary-4d1e", "AWS_SECRET_ACCESS_KEY=aws-4d1e",
		"VAULT_TOKEN=vault-4d1e", "LIFEBOAT_TEST_PASSED=passed-by-name")
	secret := s.env[1][len("TEST_S3_SECRET_KEY="):]

	s.lifeboat(t, 0, "backup", "workflows")
	s.dropArgo(t)
	s.lifeboat(t, 0, "restore", "workflows", "--dump", "latest", "--globals")

	files, _ := filepath.Glob(filepath.Join(envDir, "*.env"))
	seen := map[string]bool{}
	for _, f := range files {
		env := readFile(t, f)
		name := filepath.Base(f)
		seen[strings.SplitN(name, ".", 2)[0]] = true
		for _, leak := range []string{"4d1e", secret, "TEST_S3_ACCESS_KEY"} {
			if strings.Contains(env, leak) {
				t.Errorf("%s: lifeboat's secret %q reached the child:\n%s", name, leak, env)
			}
		}
		if !strings.Contains(env, "PATH=") {
			t.Errorf("%s: no PATH:\n%s", name, env)
		}
		switch {
		case strings.HasPrefix(name, "before"), strings.HasPrefix(name, "after"):
			if !strings.Contains(env, "LIFEBOAT_TEST_PASSED=passed-by-name\n") {
				t.Errorf("%s: the variable passEnv names is missing:\n%s", name, env)
			}
		case strings.Contains(env, "LIFEBOAT_TEST_PASSED"):
			t.Errorf("%s: a client program got a hook's variable:\n%s", name, env)
		}
	}
	for _, want := range []string{"pg_dump", "pg_dumpall", "pg_restore", "psql", "before", "after"} {
		if !seen[want] {
			t.Errorf("no environment recorded for %s (recorded: %v)", want, files)
		}
	}
	if after := readFile(t, filepath.Join(envDir, "after.env")); !strings.Contains(after, "LIFEBOAT_RESTORE_RESULT=ok\n") {
		t.Errorf("after hook: no LIFEBOAT_RESTORE_RESULT=ok:\n%s", after)
	}
}
