package vault

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Auto-restore may only treat a node as uninitialised when it is certainly not running;
// anything else might be a live node holding the cluster's data.
func TestNodeStatesTellNotRunningFromUnreachable(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "proxy error", http.StatusBadGateway)
	}))
	defer broken.Close()
	tests := []struct {
		addr       string
		notRunning bool
	}{
		{"http://127.0.0.1:1", true},                         // nothing listens
		{"http://vault-9.vault-internal.invalid:8200", true}, // no such pod (yet)
		{broken.URL, false},                                  // something answers, not a healthy Vault
	}
	for _, tt := range tests {
		c, err := New(Options{Address: tt.addr, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c.cfg.MaxRetries = 0
		st := c.NodeStates(context.Background())
		if len(st) != 1 || st[0].Reachable || st[0].NotRunning != tt.notRunning {
			t.Errorf("%s: %+v, want NotRunning=%v", tt.addr, st, tt.notRunning)
		}
	}
}
