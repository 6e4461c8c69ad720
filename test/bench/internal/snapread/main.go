// Command snapread reads a Vault/OpenBao raft snapshot and throws it away: the read
// limit of the benchmarks in test/bench, the fastest any backup of the snapshot can be.
// It is a separate process, like the tools it is compared with, so that its wall time,
// CPU and peak RSS are measured the same way.
//
// It does one GET of /v1/sys/storage/raft/snapshot with net/http and copies the body to
// io.Discard: no gunzip, no check, no hash, nothing stored.
//
// Usage: VAULT_ADDR=http://host:port VAULT_TOKEN=... snapread (BAO_ADDR and BAO_TOKEN
// are read when the VAULT_ ones are unset).
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

func main() {
	addr, token := env("VAULT_ADDR", "BAO_ADDR"), env("VAULT_TOKEN", "BAO_TOKEN")
	if addr == "" || token == "" || len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: VAULT_ADDR=http://host:port VAULT_TOKEN=... snapread")
		os.Exit(2)
	}
	n, err := read(context.Background(), strings.TrimSuffix(addr, "/")+"/v1/sys/storage/raft/snapshot", token)
	if err != nil {
		fmt.Fprintln(os.Stderr, "snapread:", err)
		os.Exit(1)
	}
	fmt.Printf("read %d bytes of snapshot\n", n)
}

func env(names ...string) string {
	for _, name := range names {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return ""
}

func read(ctx context.Context, url, token string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Vault-Token", token)
	// Without compression negotiation: the snapshot is a gzip file, and the transport
	// must not be tempted to gunzip it.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: after %d bytes: %w", url, n, err)
	}
	return n, nil
}
