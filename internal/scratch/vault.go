// Package scratch runs throwaway servers that restore drills and single-secret recovery
// restore into, so that neither ever touches the live system. A scratch server lives in
// its own 0700 temporary directory, listens only on a unix socket there, and is destroyed
// (process and data) by Stop.
package scratch

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/lifeboat-backup/lifeboat/internal/childenv"
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

// Vault is a running single-node raft server. Its API listens only on a unix socket in
// its own 0700 directory: no other local user can reach it, and no other local process
// can listen there in its place and receive the snapshot, the unseal keys or the tokens
// lifeboat sends (a TCP port on 127.0.0.1 can be taken by anyone on the host first).
type Vault struct {
	// Addr is the API address, unix://<dir>/api.sock: vault/api clients (lifeboat's
	// and the CLI's VAULT_ADDR) dial the socket for it.
	Addr    string
	dir     string
	cmd     *exec.Cmd
	done    chan error
	logPath string
}

// maxSocketPath is what a unix socket path may hold (sun_path is 108 bytes on Linux,
// with its NUL).
const maxSocketPath = 107

// sealEnv are variables a scratch server with an auto-unseal seal may need from
// lifeboat's environment: where the cloud KMS is and the workload identity it is reached
// with (files and names, not keys). Static keys belong in drill.vault.seal.secrets.
var sealEnv = []string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
	"AWS_STS_REGIONAL_ENDPOINTS", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "GOOGLE_APPLICATION_CREDENTIALS",
	"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
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
	dir, err := os.MkdirTemp(o.Dir, "lifeboat-scratch-vault-") // 0700
	if err != nil {
		return nil, fmt.Errorf("scratch Vault directory: %w", err)
	}
	v := &Vault{dir: dir, done: make(chan error, 1), logPath: filepath.Join(dir, "server.log")}
	socket := filepath.Join(dir, "api.sock")
	if len(socket) > maxSocketPath {
		v.Stop()
		return nil, fmt.Errorf("the scratch Vault's socket path %s is longer than %d bytes, which a unix socket cannot have: point TMPDIR at a shorter directory", socket, maxSocketPath)
	}
	v.Addr = "unix://" + socket
	certFile, keyFile := filepath.Join(dir, "tcp.crt"), filepath.Join(dir, "tcp.key")
	if err := writeLockedTLS(certFile, keyFile); err != nil {
		v.Stop()
		return nil, err
	}
	// Raft needs a cluster listener, which only a TCP listener brings. Its ports are the
	// kernel's choice (no port picked in advance that another process could take), and
	// its API refuses every client: it requires a client certificate signed by a key that
	// only this directory holds. lifeboat uses the socket. cluster_addr is only
	// advertised: a single node never dials it.
	cfg := fmt.Sprintf(`disable_mlock = true
api_addr = %q
cluster_addr = "https://127.0.0.1:8201"
storage "raft" {
  path = %q
  node_id = "lifeboat-scratch"
}
listener "unix" {
  address = %q
}
listener "tcp" {
  address = "127.0.0.1:0"
  cluster_address = "127.0.0.1:0"
  tls_cert_file = %q
  tls_key_file = %q
  tls_require_and_verify_client_cert = true
  tls_client_ca_file = %q
}
`, v.Addr, filepath.Join(dir, "raft"), socket, certFile, keyFile, certFile)
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
	// A minimal environment: neither the operator's VAULT_*/BAO_* settings (which would
	// reconfigure the scratch server) nor lifeboat's credentials reach it; a seal gets
	// the cloud identity it may need.
	var pass []string
	if o.Seal != "" {
		pass = sealEnv
	}
	v.cmd.Env = childenv.Env(pass)
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
//
// Its settings are its own: vaultapi.DefaultConfig would read VAULT_AGENT_ADDR,
// VAULT_PROXY_ADDR, VAULT_HTTP_PROXY and more from lifeboat's environment, which could
// send the scratch server's root token elsewhere. The transport dials the socket
// (vault/api does that for a unix:// address).
func (v *Vault) Client(token string) (*vaultapi.Client, error) {
	cfg := &vaultapi.Config{
		Address:    v.Addr,
		HttpClient: &http.Client{Transport: &http.Transport{}},
		Timeout:    30 * time.Second,
		MaxRetries: 2,
	}
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	c.ClearNamespace()
	c.SetHeaders(http.Header{vaultapi.RequestHeaderName: []string{"true"}}) // not VAULT_HEADERS
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

// writeLockedTLS writes a self-signed certificate and its key for the scratch server's
// TCP listener. As the listener's client CA too, it admits only clients holding a
// certificate signed by that key, which never leaves the 0700 directory: none.
func writeLockedTLS(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("scratch Vault TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "lifeboat scratch"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("scratch Vault TLS certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}
