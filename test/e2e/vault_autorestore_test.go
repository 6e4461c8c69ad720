package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// A wiped Vault (storage lost, unseal keys kept) comes back with no human involved, and
// the temporary key auto-restore initialises with never leaves lifeboat's memory.
func TestVaultAutoRestore(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		s := newVaultSetup(t, flavor, "")
		secrets := seed(t, s.vault.Client())

		// Already initialised: nothing to do.
		r := s.lifeboat(t, 0, "vault", "auto-restore", "--unseal-keys-file", s.keysFile)
		if !strings.Contains(r.stdout, "nothing to do") {
			t.Fatalf("auto-restore on a live Vault:\n%s", r)
		}
		s.lifeboat(t, 0, "backup", "vault")

		node := s.vault.Nodes[0]
		node.Stop()
		node.Wipe()
		node.Start()

		// lifeboat runs with its own empty working, home and temp directories, so anything
		// it writes can be found.
		scratch := t.TempDir()
		env := append([]string{"HOME=" + scratch, "TMPDIR=" + scratch}, s.env...)
		r = runIn(t, scratch, 0, env, "--config", s.config, "vault", "auto-restore", "--unseal-keys-file", s.keysFile)
		s.vault.WaitActive(node)
		checkSeeded(t, s.vault.Client(), secrets)
		if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
			t.Fatalf("auto-restore wrote files: %v", entries)
		}
		// The patterns must find real secrets, or the checks below prove nothing: the
		// original keys and root token are the same kinds the temporary ones are.
		for _, secret := range append([]string{s.vault.RootToken}, s.vault.UnsealKeys...) {
			if found := keyLike([]byte("secret: " + secret + "\n")); found != secret {
				t.Fatalf("the leak patterns do not recognise a real %s key or token (found %q)", flavor, found)
			}
		}
		// No unseal key or token appears in what lifeboat printed, in the server's log,
		// in the node's data, or anywhere lifeboat could write (its cwd, HOME and TMPDIR).
		if found := keyLike([]byte(r.stdout + r.stderr)); found != "" {
			t.Fatalf("auto-restore printed something key-like %q:\n%s", found, r)
		}
		for _, place := range []string{node.LogPath(), node.RaftDir, scratch} {
			if where, found := keyLikeIn(t, place); found != "" {
				t.Fatalf("found something key-like %q in %s after auto-restore", found, where)
			}
		}
		// The restored raft data holds no copy of a temporary key: only the original keys
		// open it after a restart.
		node.Stop()
		node.Start()
		testenv.UnsealWith(t, node, s.vault.UnsealKeys)
		s.vault.WaitActive(node)
	})
}

// Unseal key shares are 33 bytes (44 base64 characters, no padding, or 66 hex digits);
// tokens are hvs./hvb. (Vault) or s./b. (OpenBao, older Vault) followed by 24+ characters.
var keyPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?:^|[^A-Za-z0-9+/=])([A-Za-z0-9+/]{44})(?:[^A-Za-z0-9+/=]|$)`),
	regexp.MustCompile(`(?:^|[^0-9A-Fa-f])([0-9a-f]{66})(?:[^0-9A-Fa-f]|$)`),
	regexp.MustCompile(`(?:^|[^A-Za-z0-9_.-])((?:hv[sb]|[sb])\.[A-Za-z0-9_-]{24,})`),
}

// keyLike returns the first key- or token-like string in data, or "".
func keyLike(data []byte) string {
	for _, re := range keyPatterns {
		for _, m := range re.FindAllSubmatch(data, -1) {
			if plausible(m[1]) {
				return string(m[1])
			}
		}
	}
	return ""
}

// plausible drops base64-shaped storage paths: raft data holds keys like
// "<uuid tail>/policy/metadatalogical/<id>", 44 characters of the base64 alphabet but
// lowercase only. 33 random bytes in base64 have an upper- and a lower-case letter all
// but certainly (no upper-case letter: (38/64)^44, about 1e-10), so a share always passes.
func plausible(match []byte) bool {
	if len(match) != 44 {
		return true // the hex and token patterns are specific enough on their own
	}
	return bytes.ContainsFunc(match, unicode.IsUpper) && bytes.ContainsFunc(match, unicode.IsLower)
}

// keyLikeIn scans a file, or every file under a directory.
func keyLikeIn(t *testing.T, root string) (where, found string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if found = keyLike(data); found != "" {
			where = path
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", root, err)
	}
	return where, found
}

func TestVaultAutoRestoreRefusesWithoutABackup(t *testing.T) {
	s := newVaultSetup(t, testenv.OpenBao, "")
	node := s.vault.Nodes[0]
	node.Stop()
	node.Wipe()
	node.Start()
	r := s.lifeboat(t, 1, "vault", "auto-restore", "--unseal-keys-file", s.keysFile)
	if !strings.Contains(r.stderr, "refusing to initialise Vault") || !strings.Contains(r.stderr, "no usable backup") {
		t.Fatalf("refusal message:\n%s", r)
	}
	st, err := node.Client("").Sys().SealStatus()
	if err != nil || st.Initialized {
		t.Fatalf("Vault was initialised without a backup: %+v %v", st, err)
	}
	// Keys missing: refused as well, before anything else.
	r = s.lifeboat(t, 3, "vault", "auto-restore")
	if !strings.Contains(r.stderr, "no unseal keys given") {
		t.Fatalf("missing keys message:\n%s", r)
	}
}

// The stored unseal keys can live in a Kubernetes Secret; auto-restore only reads it.
func TestVaultAutoRestoreKeysFromKubernetesSecret(t *testing.T) {
	k := testenv.StartKube(t)
	k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "vault-recovery"}}, nil)
	kubeconfig := writeFile(t, filepath.Join(t.TempDir(), "kubeconfig"), k.KubeconfigYAML(""))
	s := newVaultSetup(t, testenv.OpenBao, "")
	// Point the vault source's restore.kubernetes at the test API server, through a
	// kubeconfig (TestPostgresRestoreScalesDeployments uses server, caFile and tokenFile).
	cfg := strings.Replace(readFile(t, s.config), "    vault:\n", fmt.Sprintf("    restore:\n      kubernetes: {kubeconfig: %s, context: test}\n    vault:\n", kubeconfig), 1)
	writeFile(t, s.config, cfg)
	secrets := seed(t, s.vault.Client())
	keysJSON, _ := json.Marshal(map[string]any{"unseal_keys_b64": s.vault.UnsealKeys})
	k.MustDo(http.MethodPost, "/api/v1/namespaces/vault-recovery/secrets", map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": "vault-unseal-keys"},
		"stringData": map[string]string{"init.json": string(keysJSON)},
	}, nil)
	var before struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	k.MustDo(http.MethodGet, "/api/v1/namespaces/vault-recovery/secrets/vault-unseal-keys", nil, &before)

	s.lifeboat(t, 0, "backup", "vault")
	node := s.vault.Nodes[0]
	node.Stop()
	node.Wipe()
	node.Start()
	s.lifeboat(t, 0, "vault", "auto-restore", "--unseal-keys-secret", "vault-recovery/vault-unseal-keys")
	s.vault.WaitActive(node)
	checkSeeded(t, s.vault.Client(), secrets)

	var after struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	ctx := context.Background()
	if _, err := k.Do(ctx, http.MethodGet, "/api/v1/namespaces/vault-recovery/secrets/vault-unseal-keys", nil, &after); err != nil {
		t.Fatal(err)
	}
	if after.Metadata.ResourceVersion != before.Metadata.ResourceVersion {
		t.Fatal("auto-restore modified the unseal keys Secret")
	}
}
