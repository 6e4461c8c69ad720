package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// An Azure Blob Storage destination (Azurite) takes the same backup as a directory from
// one read, verifies, and restores a wiped OpenBao on its own: the directory's copy is
// deleted first, so the secrets can only come back from the azure container.
func TestVaultBackupToAzure(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	v := testenv.StartVault(t, testenv.OpenBao)
	az := testenv.StartAzurite(t)
	az.MakeContainer("backups")
	s := &vaultSetup{vault: v, dir: t.TempDir()}
	s.localDir = filepath.Join(s.dir, "backups")
	s.tokenFile = writeFile(t, filepath.Join(s.dir, "token"), v.RootToken+"\n")
	s.keysFile = writeFile(t, filepath.Join(s.dir, "unseal-keys"), strings.Join(v.UnsealKeys, "\n")+"\n")
	keyFile := writeFile(t, filepath.Join(s.dir, "azure-account-key"), az.Key+"\n")
	s.config = writeFile(t, filepath.Join(s.dir, "lifeboat.yaml"), fmt.Sprintf(`
sources:
  - name: vault
    kind: vault
    vault:
      address: %s
      auth:
        token: {file: %s}
destinations:
  - name: local
    kind: file
    file: {path: %s}
  - name: azure
    kind: azure
    prefix: lifeboat
    azure:
      account: %s
      container: backups
      endpoint: %s
      accountKey: {file: %s}
      blockSizeMiB: 1
`, v.Addr(), s.tokenFile, s.localDir, az.Account, az.ServiceURL(), keyFile))

	secrets := seed(t, v.Client())
	// Incompressible secrets make the snapshot span several 1 MiB blocks, so the upload is
	// staged and committed as a block list, not sent as one Put Blob. Each stays below
	// raft's 1 MiB entry limit.
	for i := range 4 {
		big := make([]byte, 450<<10)
		if _, err := rand.Read(big); err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("big/%d", i)
		secrets[path] = base64.StdEncoding.EncodeToString(big)
		putKV(t, v.Client(), path, secrets[path])
	}
	r := s.lifeboat(t, 0, "backup", "vault")
	if !strings.Contains(r.stdout, "azure") || strings.Contains(r.stdout, "FAILED") {
		t.Fatalf("backup output does not show the azure destination committed:\n%s", r)
	}
	byDest := listBackups(t, s)
	if len(byDest["local"]) != 1 || len(byDest["azure"]) != 1 || byDest["local"][0].ID != byDest["azure"][0].ID ||
		byDest["local"][0].SHA256 != byDest["azure"][0].SHA256 {
		t.Fatalf("want the same backup in local and azure, got %+v", byDest)
	}
	id := byDest["azure"][0].ID

	// The blobs are where the layout says, committed, in the container itself.
	ctx := context.Background()
	container := az.Client().ServiceClient().NewContainerClient("backups")
	for _, name := range []string{"lifeboat/vault/" + id + "/manifest.json", "lifeboat/vault/" + id + "/data.snap"} {
		props, err := container.NewBlobClient(name).GetProperties(ctx, nil)
		if err != nil {
			t.Fatalf("blob %s in Azurite: %v", name, err)
		}
		if *props.ContentLength == 0 {
			t.Fatalf("blob %s is empty", name)
		}
	}
	blocks, err := container.NewBlockBlobClient("lifeboat/vault/"+id+"/data.snap").GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
	if err != nil || len(blocks.CommittedBlocks) < 2 {
		t.Fatalf("the snapshot blob is not a list of blocks: %d blocks, %v", len(blocks.CommittedBlocks), err)
	}

	r = s.lifeboat(t, 0, "verify", "latest", "--destination", "azure")
	if !strings.Contains(r.stdout, id) {
		t.Fatalf("verify does not report %s:\n%s", id, r)
	}

	// Only the azure copy is left; lose the cluster; restore it from azure.
	if err := os.RemoveAll(filepath.Join(s.localDir, "vault", id)); err != nil {
		t.Fatal(err)
	}
	newToken := s.wipe(t)
	r = s.lifeboat(t, 0, "restore", "vault", "--snapshot", "latest", "--from", "azure", "--force",
		"--token-file", newToken, "--unseal-keys-file", s.keysFile)
	t.Logf("restore said:\n%s", r.stdout)
	if !strings.Contains(r.stdout, "verified") {
		t.Fatalf("restore did not verify first:\n%s", r)
	}
	s.vault.WaitActive(s.vault.Nodes[0])
	checkSeeded(t, s.vault.Client(), secrets)
}
