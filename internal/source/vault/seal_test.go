package vault

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

func TestSealStanza(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s.transit\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := sealStanza("drill.vault.seal", &config.VaultSeal{
		Type:       "transit",
		Parameters: map[string]string{"key_name": "autounseal", "address": `https://t:8200/"x"`},
		Secrets:    map[string]config.Secret{"token": {File: tokenFile}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "seal \"transit\" {\n  address = \"https://t:8200/\\\"x\\\"\"\n  key_name = \"autounseal\"\n  token = \"s.transit\"\n}\n"
	if got != want {
		t.Fatalf("stanza:\n%s\nwant:\n%s", got, want)
	}
	_, err = sealStanza("drill.vault.seal", &config.VaultSeal{Type: "transit", Secrets: map[string]config.Secret{"token": {File: filepath.Join(t.TempDir(), "missing")}}})
	if err == nil || !strings.HasPrefix(err.Error(), "drill.vault.seal.secrets.token: ") {
		t.Fatalf("missing secret file: %v", err)
	}
	if s, err := sealStanza("x", nil); s != "" || err != nil {
		t.Fatalf("no seal: %q %v", s, err)
	}
}
