package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// A Vault source with compression: zstd stores data.snap.zst in every destination; verify,
// drill and restore (by id, by "latest", from the local file) decompress it on the way,
// and so does the documented manual path: `zstd -d`, then the server's own CLI restores.
func TestVaultCompressedBackup(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		bin := testenv.Binary(t, string(flavor))
		zstdCLI := testenv.ZstdCLI(t)
		s := newVaultSetup(t, flavor, "")
		cfg := strings.Replace(readFile(t, s.config), "    vault:\n", fmt.Sprintf(`    drill:
      vault:
        binary: %s
        unsealKeys: {file: %s}
        secrets: [secret/data/app/db]
    vault:
      compression: zstd
      compressionThreads: 2
`, bin, s.keysFile), 1)
		writeFile(t, s.config, cfg)
		secrets := seed(t, s.vault.Client())

		r := s.lifeboat(t, 0, "backup", "vault")
		byDest := listBackups(t, s)
		if len(byDest["local"]) != 1 || len(byDest["minio"]) != 1 || byDest["local"][0].SHA256 != byDest["minio"][0].SHA256 {
			t.Fatalf("want the same backup in local and minio, got %+v\n%s", byDest, r)
		}
		id := byDest["local"][0].ID
		dir := filepath.Join(s.localDir, "vault", id)
		stored := filepath.Join(dir, "data.snap.zst")
		if _, err := os.Stat(stored); err != nil {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("no data.snap.zst in the backup directory (%v): %v", err, entries)
		}
		var m struct {
			DataKey     string `json:"dataKey"`
			Compression string `json:"compression"`
			Size        int64  `json:"size"`
		}
		if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "manifest.json"))), &m); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(stored)
		if err != nil {
			t.Fatal(err)
		}
		if m.DataKey != "data.snap.zst" || m.Compression != "zstd" || m.Size != info.Size() {
			t.Fatalf("manifest: %+v, stored file %d bytes", m, info.Size())
		}
		obj, err := s.minio.Client().StatObject(context.Background(), "backups", "lifeboat/vault/"+id+"/data.snap.zst", minio.StatObjectOptions{})
		if err != nil || obj.Size != info.Size() {
			t.Fatalf("minio copy: %+v, %v", obj, err)
		}

		r = s.lifeboat(t, 0, "verify", "latest")
		if strings.Contains(r.stdout, "DAMAGED") {
			t.Fatalf("verify:\n%s", r)
		}
		r = s.lifeboat(t, 0, "drill", "vault", "--no-record")
		if !strings.Contains(r.stdout, "ok     secret secret/data/app/db") || !strings.Contains(r.stdout, "passed") {
			t.Fatalf("drill of the compressed backup:\n%s", r)
		}

		node := s.vault.Nodes[0]
		deleteSecret := func() {
			t.Helper()
			if err := s.vault.Client().KVv2("secret").DeleteMetadata(context.Background(), "app/db"); err != nil {
				t.Fatal(err)
			}
		}
		// lifeboat restores it, by id from MinIO.
		deleteSecret()
		s.lifeboat(t, 0, "restore", "vault", "--snapshot", id, "--from", "minio")
		s.vault.WaitActive(node)
		checkSeeded(t, s.vault.Client(), secrets)

		// By hand: zstd -d, then `bao|vault operator raft snapshot restore`.
		deleteSecret()
		plain := filepath.Join(s.dir, "by-hand.snap")
		if out, err := exec.Command(zstdCLI, "-d", "-q", stored, "-o", plain).CombinedOutput(); err != nil {
			t.Fatalf("zstd -d %s: %v\n%s", stored, err, out)
		}
		cli := exec.Command(bin, "operator", "raft", "snapshot", "restore", plain)
		cli.Env = append(os.Environ(), "BAO_ADDR="+s.vault.Addr(), "BAO_TOKEN="+s.vault.RootToken,
			"VAULT_ADDR="+s.vault.Addr(), "VAULT_TOKEN="+s.vault.RootToken)
		if out, err := cli.CombinedOutput(); err != nil {
			t.Fatalf("%s operator raft snapshot restore of the zstd -d output: %v\n%s", flavor, err, out)
		}
		s.vault.WaitActive(node)
		checkSeeded(t, s.vault.Client(), secrets)

		// A lost cluster, restored from the local .zst file.
		newToken := s.wipe(t)
		s.lifeboat(t, 0, "restore", "vault", "--snapshot", stored, "--force", "--token-file", newToken, "--unseal-keys-file", s.keysFile)
		s.vault.WaitActive(node)
		checkSeeded(t, s.vault.Client(), secrets)
	})
}
