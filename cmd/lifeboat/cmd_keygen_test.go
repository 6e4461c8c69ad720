package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"private and public", []string{"--private-key-file", filepath.Join(dir, "a.pem"), "--public-key-file", filepath.Join(dir, "a.pub")}, ""},
		{"private only", []string{"--private-key-file", filepath.Join(dir, "b.pem")}, ""},
		{"never overwrites the private key", []string{"--private-key-file", existing}, "exists; lifeboat keygen never overwrites a key"},
		{"never overwrites the public key, and writes nothing", []string{"--private-key-file", filepath.Join(dir, "c.pem"), "--public-key-file", existing}, "exists"},
		{"the same file twice", []string{"--private-key-file", filepath.Join(dir, "d.pem"), "--public-key-file", filepath.Join(dir, "d.pem")}, "must differ"},
		{"no private key file", nil, `required flag(s) "private-key-file" not set`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prev := slog.Default()
			t.Cleanup(func() { slog.SetDefault(prev) })
			cmd := newRootCmd()
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(append([]string{"keygen"}, tc.args...))
			err := cmd.ExecuteContext(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if data, _ := os.ReadFile(existing); string(data) != "keep me" {
					t.Fatal("an existing file was changed")
				}
				if _, err := os.Stat(filepath.Join(dir, "c.pem")); err == nil {
					t.Fatal("a private key was written although the public key file exists")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			privFile := tc.args[1]
			fi, err := os.Stat(privFile)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("private key file: %v, %v", fi, err)
			}
			data, _ := os.ReadFile(privFile)
			key, err := catalog.ParsePrivateKey(data)
			if err != nil {
				t.Fatal(err)
			}
			signer := catalog.NewSigner(key)
			if !strings.Contains(out.String(), catalog.FormatPublicKey(signer.PublicKey())) || !strings.Contains(out.String(), signer.Fingerprint()) {
				t.Fatalf("output lacks the public key or fingerprint:\n%s", out.String())
			}
			if len(tc.args) == 4 {
				pub, _ := os.ReadFile(tc.args[3])
				got, err := catalog.ParsePublicKey(string(pub))
				if err != nil || !got.Equal(signer.PublicKey()) {
					t.Fatalf("public key file: %v", err)
				}
			}
			if strings.Contains(out.String(), "PRIVATE KEY") {
				t.Fatal("the private key was printed")
			}
		})
	}
}
