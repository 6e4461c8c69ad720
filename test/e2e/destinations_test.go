package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// One backup of a real OpenBao goes to every destination kind at once (a directory,
// MinIO, fake-gcs-server, Azurite) from a single read, the four copies are the same bytes
// and verify, and the cluster is restored from each of them in turn after a loss.
func TestVaultBackupToEveryDestinationKind(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	gcs := testenv.StartFakeGCS(t)
	gcs.MakeBucket("backups")
	az := testenv.StartAzurite(t)
	az.MakeContainer("backups")
	keyFile := writeFile(t, filepath.Join(t.TempDir(), "azure-account-key"), az.Key+"\n")
	s := newVaultSetup(t, testenv.OpenBao, fmt.Sprintf(`  - name: gcs
    kind: gcs
    prefix: lifeboat
    gcs: {bucket: backups, endpoint: %s, chunkSizeMiB: 1}
  - name: azure
    kind: azure
    prefix: lifeboat
    azure: {account: %s, container: backups, endpoint: %s, accountKey: {file: %s}, blockSizeMiB: 1}
`, gcs.URL(), az.Account, az.ServiceURL(), keyFile))
	secrets := seed(t, s.vault.Client())
	r := s.lifeboat(t, 0, "backup", "vault")
	if strings.Contains(r.stdout, "FAILED") {
		t.Fatalf("backup:\n%s", r)
	}
	byDest := listBackups(t, s)
	dests := []string{"local", "minio", "gcs", "azure"}
	id, sum := byDest["local"][0].ID, byDest["local"][0].SHA256
	for _, d := range dests {
		if len(byDest[d]) != 1 || byDest[d][0].ID != id || byDest[d][0].SHA256 != sum {
			t.Fatalf("destination %s holds %+v, want backup %s with sha256 %s", d, byDest[d], id, sum)
		}
	}
	r = s.lifeboat(t, 0, "verify", "latest")
	for _, d := range dests {
		if !strings.Contains(r.stdout, d) {
			t.Fatalf("verify does not report the %s copy:\n%s", d, r)
		}
	}

	for _, d := range dests {
		if err := s.vault.Client().KVv2("secret").DeleteMetadata(context.Background(), "app/db"); err != nil {
			t.Fatal(err)
		}
		r = s.lifeboat(t, 0, "restore", "vault", "--snapshot", id, "--from", d)
		if !strings.Contains(r.stdout, d) {
			t.Fatalf("restore --from %s does not name it:\n%s", d, r)
		}
		s.vault.WaitActive(s.vault.Nodes[0])
		checkSeeded(t, s.vault.Client(), secrets)
	}
}
