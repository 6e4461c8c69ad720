package vault

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The TLS settings come from lifeboat's config alone: VAULT_* variables left in the
// environment (the Vault CLI reads them) must not turn certificate checks off, trust
// another CA, or send requests elsewhere.
func TestClientIgnoresVaultEnvironment(t *testing.T) {
	var gotNamespace, gotToken string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotNamespace, gotToken = r.Header.Get("X-Vault-Namespace"), r.Header.Get("X-Vault-Token")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":"shamir","initialized":true,"sealed":false,"t":1,"n":1,"storage_type":"raft"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	serverCA := filepath.Join(dir, "server-ca.pem")
	if err := os.WriteFile(serverCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	// The agent address points at a server that must never be asked.
	decoy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("the client followed VAULT_AGENT_ADDR")
		http.Error(w, "decoy", http.StatusTeapot)
	}))
	defer decoy.Close()
	for k, v := range map[string]string{
		"VAULT_SKIP_VERIFY": "true", "VAULT_CACERT": serverCA, "VAULT_TLS_SERVER_NAME": "example.com",
		"VAULT_AGENT_ADDR": decoy.URL, "VAULT_ADDR": decoy.URL, "VAULT_TOKEN": "s.from-the-environment",
		"VAULT_NAMESPACE": "env-namespace", "VAULT_SRV_LOOKUP": "true", "VAULT_RATE_LIMIT": "0.001",
	} {
		t.Setenv(k, v)
	}
	tests := []struct {
		name    string
		tls     TLS
		wantErr string // "" means the request succeeds
	}{
		{"unknown CA is rejected whatever VAULT_SKIP_VERIFY says", TLS{}, "certificate"},
		{"configured CA is trusted", TLS{CACert: serverCA}, ""},
		{"configured server name is checked", TLS{CACert: serverCA, ServerName: "vault.invalid"}, "certificate"},
		{"skip-verify when asked", TLS{SkipVerify: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Options{Address: srv.URL, Timeout: 5 * time.Second, TLS: tt.tls})
			if err != nil {
				t.Fatal(err)
			}
			c.cfg.MaxRetries = 0
			st := c.NodeStates(context.Background())
			if len(st) != 1 {
				t.Fatalf("states: %+v", st)
			}
			if tt.wantErr == "" {
				if !st[0].Reachable {
					t.Fatalf("request failed: %v", st[0].Err)
				}
				if gotNamespace != "" || gotToken != "" {
					t.Fatalf("environment leaked into the request: namespace %q, token %q", gotNamespace, gotToken)
				}
				return
			}
			if st[0].Reachable || st[0].Err == nil || !strings.Contains(st[0].Err.Error(), tt.wantErr) {
				t.Fatalf("want a TLS error containing %q, got reachable=%v err=%v", tt.wantErr, st[0].Reachable, st[0].Err)
			}
		})
	}
}

func TestClientCertNeedsItsKey(t *testing.T) {
	for _, tls := range []TLS{{ClientCert: "/tls/client.pem"}, {ClientKey: "/tls/client-key.pem"}} {
		_, err := New(Options{Address: "https://vault.example.com:8200", TLS: tls})
		if err == nil || !strings.Contains(err.Error(), "must be set together") {
			t.Errorf("%+v: error = %v", tls, err)
		}
	}
}
