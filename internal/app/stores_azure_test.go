package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// Describe names an azure destination exactly as its opened store does, so a destination
// that cannot be opened is reported at the same place as one that can; its credentials are
// read from their files, and a missing file is named.
func TestOpenAzureStore(t *testing.T) {
	dir := t.TempDir()
	sasFile := filepath.Join(dir, "sas")
	if err := os.WriteFile(sasFile, []byte("sv=2024-01-01&sr=c&sp=racwdl&sig=c2lnbmF0dXJl\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, yaml := range []string{
		`{name: az, kind: azure, prefix: team/lb, azure: {account: acct, container: backups, sasToken: {file: "` + sasFile + `"}}}`,
		`{name: az, kind: azure, azure: {account: devstoreaccount1, container: backups, endpoint: "http://127.0.0.1:10000/devstoreaccount1/", sasToken: {file: "` + sasFile + `"}}}`,
		`{name: az, kind: azure, azure: {account: acct, container: backups, endpoint: "https://acct.blob.core.chinacloudapi.cn"}}`,
	} {
		c, err := config.Parse([]byte("sources: [{name: vault, kind: vault, vault: {address: \"https://vault:8200\"}}]\ndestinations:\n  - " + yaml + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		d := &c.Destinations[0]
		s, err := OpenStore(d, false, nil)
		if err != nil {
			t.Fatalf("OpenStore(%s): %v", yaml, err)
		}
		if got, want := Describe(d), s.String(); got != want {
			t.Errorf("Describe = %q, store String = %q", got, want)
		}
	}

	c, err := config.Parse([]byte("sources: [{name: vault, kind: vault, vault: {address: \"https://vault:8200\"}}]\ndestinations:\n" +
		`  - {name: az, kind: azure, azure: {account: acct, container: backups, accountKey: {file: "` + dir + `/missing-key"}}}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(&c.Destinations[0], false, nil); err == nil || !strings.Contains(err.Error(), "azure account key") ||
		!strings.Contains(err.Error(), "missing-key") {
		t.Fatalf("OpenStore with a missing key file = %v", err)
	}
}
