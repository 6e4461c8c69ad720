package scratch

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// A scratch server answers only on its socket, in its own 0700 directory, and sees
// none of lifeboat's environment: no TCP port another local process could take first,
// no VAULT_* setting or credential of lifeboat's.
func TestScratchVaultListensOnlyOnItsSocket(t *testing.T) {
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		bin := testenv.Binary(t, string(flavor))
		for _, kv := range []string{"LIFEBOAT_TEST_CANARY=canary-5b7e", "VAULT_TOKEN=vault-5b7e", "BAO_TOKEN=bao-5b7e",
			"VAULT_ADDR=http://127.0.0.1:1", "VAULT_AGENT_ADDR=http://127.0.0.1:1", "BAO_ADDR=http://127.0.0.1:1"} {
			name, value, _ := strings.Cut(kv, "=")
			t.Setenv(name, value)
		}
		ctx := context.Background()
		v, err := StartVault(ctx, VaultOptions{Binary: bin, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Stop()

		socket, ok := strings.CutPrefix(v.Addr, "unix://")
		if !ok || filepath.Dir(socket) != v.dir {
			t.Fatalf("Addr = %s, want the socket in %s", v.Addr, v.dir)
		}
		if fi, err := os.Stat(v.dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("scratch directory: %v, %v; want mode 0700", fi.Mode(), err)
		}
		if fi, err := os.Stat(socket); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Errorf("socket: %v, %v; want a socket", fi.Mode(), err)
		}
		c, err := v.Client("")
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.Sys().SealStatusWithContext(ctx)
		if err != nil || st.Initialized {
			t.Fatalf("seal status over the socket: %+v, %v; want an uninitialised server", st, err)
		}

		// Raft's cluster listener needs TCP; none of its ports answers a client without
		// the directory's key, with or without TLS.
		pid := v.cmd.Process.Pid
		ports := tcpListeners(t, pid)
		if len(ports) == 0 {
			t.Log("the scratch server listens on no TCP port")
		}
		for _, port := range ports {
			for _, scheme := range []string{"https", "http"} {
				client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
					TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // whatever it presents: it must refuse us
				}}
				resp, err := client.Get(fmt.Sprintf("%s://127.0.0.1:%d/v1/sys/seal-status", scheme, port))
				if err != nil {
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				// Plain HTTP to the TLS port gets Go's "HTTP request to an HTTPS server".
				if strings.Contains(string(body), "initialized") {
					t.Errorf("TCP port %d answered %s without a client certificate: %s %s", port, scheme, resp.Status, body)
				}
			}
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range strings.Split(string(environ), "\x00") {
			if strings.Contains(kv, "5b7e") || strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "BAO_") {
				t.Errorf("the scratch server got %q from lifeboat's environment", kv)
			}
		}
	})
}

// tcpListeners are the TCP ports process pid listens on.
func tcpListeners(t *testing.T, pid int) []int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var listening []int
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			if len(fields) > 9 && fields[3] == "0A" && inodes[fields[9]] {
				_, hexPort, _ := strings.Cut(fields[1], ":")
				port, err := strconv.ParseInt(hexPort, 16, 32)
				if err != nil {
					t.Fatalf("/proc/net/%s: %q: %v", table, fields[1], err)
				}
				listening = append(listening, int(port))
			}
		}
		f.Close()
	}
	return listening
}
