package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// LocalKMS is a real AWS KMS emulator (github.com/nsmithuk/local-kms) holding two
// symmetric keys, for Vault's and OpenBao's awskms seal. It accepts any credentials, so
// the tests pass made-up ones the way a pod would pass its own.
type LocalKMS struct {
	Endpoint string // http://127.0.0.1:port, the seal's endpoint parameter
	Region   string
	// KeyID and OtherKeyID are the aliases of two keys. (A snapshot sealed by one is still
	// opened with the other: KMS reads the key from the ciphertext, as AWS does.)
	KeyID, OtherKeyID string
	AccessKey         string
	SecretKey         string

	proc *Process
}

// StartLocalKMS starts local-kms on a free loopback port with two seeded keys.
func StartLocalKMS(t testing.TB) *LocalKMS {
	t.Helper()
	bin := Binary(t, "local-kms")
	dir := TempDir(t, "local-kms")
	k := &LocalKMS{
		Region:     "eu-west-1",
		KeyID:      "alias/lifeboat-seal",
		OtherKeyID: "alias/lifeboat-other",
		AccessKey:  "AKIALIFEBOATTEST",
		SecretKey:  "lifeboat-test-secret-key",
	}
	seed := "Keys:\n  Symmetric:\n    Aes:\n"
	aliases := "Aliases:\n"
	for i, alias := range []string{k.KeyID, k.OtherKeyID} {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		backing := make([]byte, 32)
		if _, err := rand.Read(backing); err != nil {
			t.Fatal(err)
		}
		seed += fmt.Sprintf("      - Metadata:\n          KeyId: %s\n        BackingKeys:\n          - %s\n", id, hex.EncodeToString(backing))
		aliases += fmt.Sprintf("  - AliasName: %s\n    TargetKeyId: %s\n", alias, id)
	}
	seedFile := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seedFile, []byte(seed+aliases), 0o600); err != nil {
		t.Fatal(err)
	}
	// local-kms listens on every interface (it has no address setting); the port is free
	// on loopback, and nothing but this test talks to it.
	port := freePortOn("127.0.0.1")
	k.Endpoint = "http://" + net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	k.proc = StartProcess(t, "local-kms", dir, []string{
		fmt.Sprintf("PORT=%d", port),
		"KMS_REGION=" + k.Region,
		"KMS_ACCOUNT_ID=111122223333",
		"KMS_SEED_PATH=" + seedFile,
		"KMS_DATA_PATH=" + filepath.Join(dir, "data"),
	}, bin)
	WaitFor(t, k.proc, 30*time.Second, "local-kms to answer", func(ctx context.Context) error {
		return k.call(ctx, "ListAliases", `{}`)
	})
	return k
}

// Seal is an HCL awskms seal stanza using key (KeyID or OtherKeyID).
func (k *LocalKMS) Seal(key string) string {
	return fmt.Sprintf("seal \"awskms\" {\n  region = %q\n  endpoint = %q\n  kms_key_id = %q\n  access_key = %q\n  secret_key = %q\n}\n",
		k.Region, k.Endpoint, key, k.AccessKey, k.SecretKey)
}

// call makes one KMS API request (JSON protocol; local-kms does not check signatures).
func (k *LocalKMS) call(ctx context.Context, action, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.Endpoint+"/", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Target", "TrentService."+action)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("local-kms %s: %s", action, resp.Status)
	}
	return nil
}
