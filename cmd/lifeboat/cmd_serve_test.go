package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Bad TLS files or a short token stop `serve` before anything starts: exit 3, an error
// that names what to fix, and no baseline backup ran (the destination stays empty).
func TestServeRefusesBadSetupBeforeStarting(t *testing.T) {
	for _, c := range []struct {
		name   string
		server string // the config's server block; DIR is a temp dir
		want   []string
	}{
		{"missing TLS files", "server:\n  listen: 127.0.0.1:0\n  tls: {certFile: DIR/missing.crt, keyFile: DIR/missing.key}\n",
			[]string{"missing.crt", "server.tls.certFile"}},
		{"short token", "server:\n  listen: 127.0.0.1:0\n  token: {file: DIR/token}\n",
			[]string{"server.token is 5 bytes long", "at least 16"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "token"), []byte("short\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			backups := filepath.Join(dir, "backups")
			cfg := filepath.Join(dir, "lifeboat.yaml")
			if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
sources:
  - name: vault
    kind: vault
    schedule: "0 * * * *"
    vault: {address: "http://127.0.0.1:1"}
destinations:
  - name: local
    kind: file
    file: {path: %s}
%s`, backups, strings.ReplaceAll(c.server, "DIR", dir))), 0o600); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			_, errOut, code := runCLI(t, "--config", cfg, "serve")
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, exitUsage, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("the error lacks %q:\n%s", w, errOut)
				}
			}
			if took := time.Since(began); took > 10*time.Second {
				t.Errorf("serve took %s to refuse", took)
			}
			if _, err := os.Stat(backups); !os.IsNotExist(err) {
				t.Fatalf("a backup was attempted before the setup was checked: %v", err)
			}
		})
	}
}
