package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/server"
	"github.com/lifeboat-backup/lifeboat/internal/source/sourcetest"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault/vaulttest"
)

// hintSources are one source of each kind restore takes.
const hintSources = `
sources:
  - {name: vault, kind: vault, vault: {address: "http://127.0.0.1:1"}}
  - {name: workflows, kind: postgres, postgres: {host: 127.0.0.1, port: 1, database: argo}}
destinations: [{name: local, kind: file, file: {path: %s}}]
`

var restoreHintRE = regexp.MustCompile(`<p class="restore">Restore the latest: <code>([^<]*)</code>`)

// The page's restore hint is a command this CLI accepts for the source's kind: each hint
// the real page prints for a committed backup goes through the real command tree, flags
// and the kind's flag check. It runs against a config whose destination is empty, so it
// stops, after the checks, at "not found" instead of touching a server.
func TestPageRestoreHintRunsInTheCLI(t *testing.T) {
	backups := filepath.Join(t.TempDir(), "backups")
	cfg, err := config.Parse(fmt.Appendf(nil, hintSources, backups))
	if err != nil {
		t.Fatal(err)
	}
	a := &app.App{Config: cfg, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ids := map[string]string{}
	for _, s := range cfg.Sources {
		dests, err := a.Destinations(s.Name, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		res := (&pipeline.Pipeline{Logger: a.Logger}).Run(context.Background(), sourcetest.New(s.Name, s.Kind, vaulttest.Snapshot()), dests)
		if res.Status() != pipeline.StatusOK {
			t.Fatalf("backup of %s: %v", s.Name, res.Error())
		}
		ids[s.Name] = res.ID
	}
	srv, err := server.New(server.Options{App: a, History: history.NewMemory(10)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Shutdown(context.Background()) })
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	_, _ = page.ReadFrom(resp.Body)
	resp.Body.Close()
	hints := restoreHintRE.FindAllStringSubmatch(page.String(), -1)
	if resp.StatusCode != http.StatusOK || len(hints) != len(cfg.Sources) {
		t.Fatalf("want one restore hint per source on the page, got %d (%s):\n%s", len(hints), resp.Status, page.String())
	}

	empty := writeConfig(t, "lifeboat.yaml", fmt.Sprintf(hintSources, t.TempDir()))
	for _, h := range hints {
		hint := html.UnescapeString(h[1])
		t.Run(hint, func(t *testing.T) {
			args := strings.Fields(hint)
			if len(args) != 5 || args[0] != "lifeboat" || args[1] != "restore" || ids[args[2]] != args[4] {
				t.Fatalf("hint %q is not `lifeboat restore <source> <flag> <its latest backup>` (backups %v)", hint, ids)
			}
			out, errOut, code := runCLI(t, append([]string{"--config", empty}, args[1:]...)...)
			if code != exitFailure || !strings.Contains(errOut, "not found in any destination of "+args[2]) {
				t.Errorf("%s: exit %d, want %d (flags accepted, then the backup not found)\n%s%s", hint, code, exitFailure, out, errOut)
			}
			// The same line with the other kind's flag is refused: the run above passed
			// the kind's check rather than skipping it.
			other := map[string]string{"--snapshot": "--dump", "--dump": "--snapshot"}[args[3]]
			wrong := []string{"--config", empty, "restore", args[2], other, args[4]}
			if _, errOut, code := runCLI(t, wrong...); code != exitUsage || !strings.Contains(errOut, "takes "+args[3]) {
				t.Errorf("%v: exit %d, want %d naming %s\n%s", wrong, code, exitUsage, args[3], errOut)
			}
		})
	}
}
