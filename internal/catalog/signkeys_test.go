package catalog

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

func TestParsePublicKeys(t *testing.T) {
	k1, k2 := pubOf(newKey(t)), pubOf(newKey(t))
	pem2, err := PublicKeyPEM(k2)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := PrivateKeyPEM(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    []ed25519.PublicKey
		wantErr string
	}{
		{"one-line and PEM with comments", "# ops key 2026\n" + FormatPublicKey(k1) + "\n\n" + string(pem2), []ed25519.PublicKey{k1, k2}, ""},
		{"empty", "\n# nothing\n", nil, ""},
		{"private key refused", FormatPublicKey(k1) + "\n" + string(priv), nil, `line 2: a PEM "PRIVATE KEY" block`},
		{"raw private key bytes refused", PublicKeyPrefix + base64Std(newKey(t)), nil, "size of a PRIVATE key"},
		{"age recipient", "age1qqqq", nil, `line 1: not a public key: want "ed25519:"`},
		{"short", PublicKeyPrefix + "AAAA", nil, "base64 of 32 bytes"},
		{"unfinished PEM", strings.Split(string(pem2), "\n")[0] + "\nAAAA\n", nil, "line 1: a PEM block that is not complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKeys([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("key %d differs", i)
				}
			}
		})
	}
}

func TestPrivateKeyRoundTrip(t *testing.T) {
	key := newKey(t)
	data, err := PrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePrivateKey(data)
	if err != nil || !got.Equal(key) {
		t.Fatalf("ParsePrivateKey: %v", err)
	}
	pemPub, _ := PublicKeyPEM(pubOf(key))
	if _, err := ParsePrivateKey(pemPub); err == nil {
		t.Fatal("a public key parsed as a private key")
	}
	if p, err := ParsePublicKey(FormatPublicKey(pubOf(key))); err != nil || !p.Equal(pubOf(key)) {
		t.Fatalf("ParsePublicKey: %v", err)
	}
}

func FuzzParsePublicKeys(f *testing.F) {
	pub := pubOf(newKey(f))
	pemPub, _ := PublicKeyPEM(pub)
	f.Add([]byte(FormatPublicKey(pub) + "\n" + string(pemPub)))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n"))
	f.Add([]byte("# c\n\r\n ed25519:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParsePublicKeys(data)
		if err != nil {
			return
		}
		for _, k := range keys {
			if len(k) != ed25519.PublicKeySize {
				t.Fatalf("a key of %d bytes", len(k))
			}
			again, err := ParsePublicKey(FormatPublicKey(k))
			if err != nil || !again.Equal(k) {
				t.Fatalf("one-line form does not parse back: %v", err)
			}
		}
	})
}
