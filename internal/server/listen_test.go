package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a pool that
// trusts it.
func selfSigned(t *testing.T, dir string) (*config.ServerTLS, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lifeboat test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	c := &config.ServerTLS{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = os.WriteFile(c.CertFile, certPEM, 0o600)
	_ = os.WriteFile(c.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return c, pool
}

// Serve speaks HTTPS with server.tls, and returns cleanly when its context ends.
func TestServeTLSAndStop(t *testing.T) {
	e := newEnv(t, "")
	srv, err := New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	files, pool := selfSigned(t, e.dir)
	tlsCfg, err := LoadTLS(files)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, tlsCfg) }()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var resp *http.Response
	for range 100 {
		if resp, err = client.Get("https://" + ln.Addr().String() + "/healthz"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("GET /healthz over TLS: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after its context ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

// LoadTLS fails on unusable files with an error naming them and the settings to fix.
func TestLoadTLSErrors(t *testing.T) {
	good, _ := selfSigned(t, t.TempDir())
	other, _ := selfSigned(t, t.TempDir())
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a PEM file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  config.ServerTLS
	}{
		{"missing certificate", config.ServerTLS{CertFile: filepath.Join(t.TempDir(), "nope.crt"), KeyFile: good.KeyFile}},
		{"missing key", config.ServerTLS{CertFile: good.CertFile, KeyFile: filepath.Join(t.TempDir(), "nope.key")}},
		{"key of another certificate", config.ServerTLS{CertFile: good.CertFile, KeyFile: other.KeyFile}},
		{"not PEM", config.ServerTLS{CertFile: garbage, KeyFile: good.KeyFile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadTLS(&c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.cfg.CertFile) || !strings.Contains(err.Error(), "server.tls.certFile and keyFile") {
				t.Fatalf("LoadTLS(%+v): %v", c.cfg, err)
			}
		})
	}
	if cfg, err := LoadTLS(nil); cfg != nil || err != nil {
		t.Fatalf("LoadTLS(nil) = %v, %v; want plain HTTP", cfg, err)
	}
}
