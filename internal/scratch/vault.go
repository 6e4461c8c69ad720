// Package scratch runs throwaway servers that restore drills and single-secret recovery
// restore into, so that neither ever touches the live system. A scratch server lives in
// its own temporary directory on loopback and is destroyed (process and data) by Stop.
package scratch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// VaultOptions says how to start a scratch Vault/OpenBao.
type VaultOptions struct {
	// Binary is the vault or bao server binary (the same major version as the cluster
	// the snapshot came from, or newer).
	Binary string
	// Dir is where its temporary directory is made; empty uses the OS default.
	Dir    string
	Logger *slog.Logger
	// Seal is an HCL `seal "<type>" { ... }` stanza for an auto-unsealed cluster's
	// snapshot; empty means Shamir. It may hold credentials: it is written only into the
	// server's configuration file (0600, in a 0700 directory deleted by Stop).
	Seal string
}

// Vault is a running single-node raft server with TLS off, on 127.0.0.1.
type Vault struct {
	Addr    string
	dir     string
	cmd     *exec.Cmd
	done    chan error
	logPath string
}

// StartVault starts an uninitialised scratch server and waits until it answers.
func StartVault(ctx context.Context, o VaultOptions) (*Vault, error) {
	if o.Binary == "" {
		return nil, errors.New("no Vault/OpenBao server binary configured for the scratch instance (drill.vault.binary)")
	}
	bin, err := exec.LookPath(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("scratch Vault binary %q: %w; install vault or bao, or set drill.vault.binary", o.Binary, err)
	}
	dir, err := os.MkdirTemp(o.Dir, "lifeboat-scratch-vault-")
	if err != nil {
		return nil, fmt.Errorf("scratch Vault directory: %w", err)
	}
	v := &Vault{dir: dir, done: make(chan error, 1), logPath: filepath.Join(dir, "server.log")}
	apiPort, err1 := freePort()
	clusterPort, err2 := freePort()
	if err := errors.Join(err1, err2); err != nil {
		v.Stop()
		return nil, err
	}
	v.Addr = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	cfg := fmt.Sprintf(`disable_mlock = true
api_addr = %q
cluster_addr = "https://127.0.0.1:%d"
storage "raft" {
  path = %q
  node_id = "lifeboat-scratch"
}
listener "tcp" {
  address = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable = true
}
`, v.Addr, clusterPort, filepath.Join(dir, "raft"), apiPort, clusterPort)
	if o.Seal != "" {
		cfg += o.Seal
	}
	if err := os.MkdirAll(filepath.Join(dir, "raft"), 0o700); err != nil {
		v.Stop()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.hcl"), []byte(cfg), 0o600); err != nil {
		v.Stop()
		return nil, err
	}
	logFile, err := os.Create(v.logPath)
	if err != nil {
		v.Stop()
		return nil, err
	}
	v.cmd = exec.Command(bin, "server", "-config", filepath.Join(dir, "config.hcl"))
	v.cmd.Stdout, v.cmd.Stderr = logFile, logFile
	// The scratch server must die with lifeboat, whatever happens to lifeboat.
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Don't let the operator's VAULT_*/BAO_* settings reconfigure the scratch server.
	v.cmd.Env = cleanEnv()
	if err := v.cmd.Start(); err != nil {
		logFile.Close()
		v.Stop()
		return nil, fmt.Errorf("start scratch Vault %s: %w", bin, err)
	}
	go func() { v.done <- v.cmd.Wait(); logFile.Close() }()
	if err := v.waitListening(ctx); err != nil {
		v.Stop()
		return nil, err
	}
	return v, nil
}

func (v *Vault) waitListening(ctx context.Context) error {
	c, err := v.Client("")
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err = c.Sys().SealStatusWithContext(ctx); err == nil {
			return nil
		}
		select {
		case werr := <-v.done:
			v.done <- werr
			return fmt.Errorf("scratch Vault exited: %v; %s", werr, v.LogTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scratch Vault did not answer within 60s: %v; %s", err, v.LogTail())
		}
	}
}

// Client returns an API client for the scratch server.
func (v *Vault) Client(token string) (*vaultapi.Client, error) {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = v.Addr
	cfg.Timeout = 30 * time.Second
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	c.ClearNamespace()
	return c, nil
}

// Stop kills the server and deletes everything it stored. Safe to call more than once.
func (v *Vault) Stop() {
	if v.cmd != nil && v.cmd.Process != nil {
		_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
		<-v.done
		v.done <- nil
		v.cmd = nil
	}
	if v.dir != "" {
		_ = os.RemoveAll(v.dir)
		v.dir = ""
	}
}

// LogErrors is the server's log from its first error after the marker (or its first
// error at all when the marker is not in the log) on: what it said went wrong. It is
// LogTail when it logged no such error.
func (v *Vault) LogErrors(marker string) string {
	data, err := os.ReadFile(v.logPath)
	if err != nil {
		return "no server log"
	}
	from := 0
	if m := strings.Index(string(data), marker); marker != "" && m >= 0 {
		from = m
	}
	i := strings.Index(string(data[from:]), "[ERROR]")
	if i >= 0 {
		i += from
	}
	if i < 0 {
		return v.LogTail()
	}
	if j := strings.LastIndex(string(data[:i]), "\n"); j >= 0 {
		i = j + 1
	}
	data = data[i:]
	if len(data) > 1500 {
		data = data[:1500]
	}
	return "the server said:\n" + string(data)
}

// LogTail is the end of the server's log, for errors.
func (v *Vault) LogTail() string {
	data, err := os.ReadFile(v.logPath)
	if err != nil {
		return "no server log"
	}
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return "server log tail:\n" + string(data)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for the scratch server: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "BAO_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
