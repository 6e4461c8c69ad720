package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// After one secret is deleted and another overwritten in the live Vault, recover brings
// both back from the latest backup and touches nothing else.
func TestVaultRecoverSingleSecrets(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	s := newVaultSetup(t, testenv.OpenBao, "")
	cfg := strings.Replace(readFile(t, s.config), "    vault:\n", fmt.Sprintf(`    drill:
      vault:
        binary: %s
        unsealKeys: {file: %s}
    vault:
`, testenv.Binary(t, "openbao"), s.keysFile), 1)
	writeFile(t, s.config, cfg)
	c := s.vault.Client()
	secrets := seed(t, c)
	ctx := context.Background()
	putKV(t, c, "app/retired", "deleted-before-backup") // soft-deleted at backup time: skipped
	if err := c.KVv2("secret").Delete(ctx, "app/retired"); err != nil {
		t.Fatal(err)
	}
	s.lifeboat(t, 0, "backup", "vault")

	if err := c.KVv2("secret").DeleteMetadata(ctx, "app/db"); err != nil {
		t.Fatal(err)
	}
	putKV(t, c, "app/api", "overwritten")
	putKV(t, c, "team/ci", "changed-after-backup") // outside the recovered path: must stay

	r := s.lifeboat(t, 0, "recover", "vault", "--path", "secret/data/app")
	for _, want := range []string{"create    secret/data/app/db", "update    secret/data/app/api", "skip      secret/data/app/retired: deleted or destroyed", "dry run: 2 of 3"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("plan lacks %q:\n%s", want, r)
		}
	}
	if _, err := c.KVv2("secret").Get(ctx, "app/db"); err == nil {
		t.Fatal("dry run wrote to the live Vault")
	}

	s.lifeboat(t, 0, "recover", "vault", "--path", "secret/data/app", "--apply")
	for _, p := range []string{"app/db", "app/api"} {
		got, err := c.KVv2("secret").Get(ctx, p)
		if err != nil || got.Data["value"] != secrets[p] {
			t.Fatalf("%s after recover: %v %v", p, got, err)
		}
	}
	if got, err := c.KVv2("secret").Get(ctx, "app/retired"); err == nil && got.Data != nil {
		t.Fatalf("recover wrote a secret that was deleted in the backup: %v", got.Data)
	}
	got, err := c.KVv2("secret").Get(ctx, "team/ci")
	if err != nil || got.Data["value"] != "changed-after-backup" {
		t.Fatalf("recover touched another path: %v %v", got, err)
	}

	// Into another path, leaving the original alone.
	s.lifeboat(t, 0, "recover", "vault", "--path", "secret/data/team/ci", "--to-path", "secret/data/restored/ci", "--apply")
	got, err = c.KVv2("secret").Get(ctx, "restored/ci")
	if err != nil || got.Data["value"] != secrets["team/ci"] {
		t.Fatalf("recover --to-path: %v %v", got, err)
	}
}
