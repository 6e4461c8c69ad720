package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

func TestSigningKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pub1, priv1, _ := ed25519.GenerateKey(rand.Reader)
	pub2, _, _ := ed25519.GenerateKey(rand.Reader)
	pub3, _, _ := ed25519.GenerateKey(rand.Reader)
	privPEM, _ := catalog.PrivateKeyPEM(priv1)
	pub3PEM, _ := catalog.PublicKeyPEM(pub3)
	privFile := write("private.pem", privPEM)
	pubFile := write("public-keys", append([]byte("# rotated in 2026\n"), pub3PEM...))
	empty := write("empty", []byte("# none yet\n"))
	tests := []struct {
		name    string
		s       *Signing
		signer  bool
		keys    []ed25519.PublicKey
		keysErr string
		signErr string
	}{
		{"not configured", nil, false, nil, "", ""},
		{"backup pod: private key only", &Signing{PrivateKey: Secret{File: privFile}}, true, []ed25519.PublicKey{pub1}, "", ""},
		{"restore pod: listed and file", &Signing{PublicKeys: []string{catalog.FormatPublicKey(pub2)}, PublicKeysFile: pubFile},
			false, []ed25519.PublicKey{pub2, pub3}, "", ""},
		{"restore pod: the private key named but not mounted", &Signing{PrivateKey: Secret{File: filepath.Join(dir, "not-mounted")},
			PublicKeys: []string{catalog.FormatPublicKey(pub2)}}, false, []ed25519.PublicKey{pub2}, "", "signing.privateKey: read secret file"},
		{"empty keys file", &Signing{PublicKeysFile: empty}, false, nil, "holds no public key", ""},
		{"missing keys file", &Signing{PublicKeysFile: filepath.Join(dir, "nope")}, false, nil, "signing.publicKeysFile: open", ""},
		{"private key file is a public key", &Signing{PrivateKey: Secret{File: pubFile}}, false, nil,
			`signing.privateKey (file:` + pubFile + `): not a PEM "PRIVATE KEY" block`, `not a PEM "PRIVATE KEY" block`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := tt.s.TrustedKeys()
			if tt.keysErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.keysErr) {
					t.Fatalf("TrustedKeys err = %v, want %q", err, tt.keysErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(tt.keys) {
				t.Fatalf("%d keys, want %d", len(keys), len(tt.keys))
			}
			for i := range keys {
				if !keys[i].Equal(tt.keys[i]) {
					t.Errorf("key %d differs", i)
				}
			}
			s, err := tt.s.Signer()
			if tt.signErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.signErr) {
					t.Fatalf("Signer err = %v, want %q", err, tt.signErr)
				}
				return
			}
			if err != nil || (s != nil) != tt.signer {
				t.Fatalf("Signer = %v, %v", s, err)
			}
			if s != nil && s.Fingerprint() != catalog.Fingerprint(pub1) {
				t.Errorf("signer fingerprint %s", s.Fingerprint())
			}
		})
	}
}
