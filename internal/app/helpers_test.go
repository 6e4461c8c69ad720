package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/source/sourcetest"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault/vaulttest"
)

// snapshotSource streams an archive shaped like a Vault raft snapshot (the real ones are
// exercised against real servers in test/e2e), with optional side objects, so verify's
// own checks run on real bytes in real file stores.
func snapshotSource(extras ...source.Extra) *sourcetest.Source {
	src := sourcetest.Vault(vaulttest.Snapshot())
	src.Extras = extras
	return src
}

// testApp is an App over a config with a vault source (never contacted) and the given
// destinations YAML; encrypt adds an age recipient and its identity file.
func testApp(t *testing.T, destinations string, encrypt bool) *App {
	t.Helper()
	dir := t.TempDir()
	var enc string
	if encrypt {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		idFile := filepath.Join(dir, "identity.txt")
		if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		enc = fmt.Sprintf("encryption:\n  age:\n    recipients: [%s]\n    identityFile: %q\n", id.Recipient(), idFile)
	}
	yaml := fmt.Sprintf(`
sources:
  - name: vault
    kind: vault
    vault:
      address: http://127.0.0.1:1
      auth:
        token: {env: LIFEBOAT_TEST_UNUSED_TOKEN}
destinations:
%s
%s`, strings.ReplaceAll(destinations, "DIR", dir), enc)
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	return &App{Config: cfg, Version: "test", Logger: slog.New(slog.DiscardHandler)}
}

// backUp runs one backup of src through the app's own pipeline and destinations.
func backUp(t *testing.T, a *App, src source.Source, only ...string) *pipeline.Result {
	t.Helper()
	return backUpAs(t, a, src, "", only...)
}

// backUpAs is backUp with a given backup id ("" for a fresh one).
func backUpAs(t *testing.T, a *App, src source.Source, id string, only ...string) *pipeline.Result {
	t.Helper()
	ctx := context.Background()
	cfgSrc, err := a.Config.Source("vault")
	if err != nil {
		t.Fatal(err)
	}
	dests, err := a.Destinations("vault", only, true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Pipeline(cfgSrc)
	if err != nil {
		t.Fatal(err)
	}
	p.BackupID = id
	return p.Run(ctx, src, dests)
}

// storedPath is where a file destination rooted at root keeps key.
func storedPath(root, key string) string {
	return filepath.Join(root, filepath.FromSlash(key))
}

func sha(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

type nopCloser struct{ io.Reader }

func (nopCloser) Close() error { return nil }
