package testenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Kube is a real Kubernetes API server (kube-apiserver + etcd, no kubelet): enough for
// Secrets, Deployments and their scale subresource, TokenReview, RBAC and server-side
// dry-run. Nothing schedules pods.
type Kube struct {
	URL    string // https://127.0.0.1:port
	CAFile string // PEM of the CA that signed the serving cert
	CAPEM  []byte
	Token  string // static token of a system:masters user
	Dir    string

	t testing.TB
}

// StartKube starts etcd and kube-apiserver and waits until the API is ready.
func StartKube(t testing.TB) *Kube {
	t.Helper()
	etcdBin := Binary(t, "etcd")
	apiBin := Binary(t, "kube-apiserver")
	dir := TempDir(t, "kube")
	k := &Kube{Dir: dir, Token: "lifeboat-test-admin-token", t: t}

	etcdClient, etcdPeer := FreePort(t), FreePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	etcd := StartProcess(t, "etcd", dir, nil, etcdBin,
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", etcdPeer),
		"--unsafe-no-fsync", "--log-level", "warn")
	WaitFor(t, etcd, 60*time.Second, "etcd to be healthy", HTTPStatusOK(http.DefaultClient, etcdURL+"/health"))

	caPEM, err := writeKubePKI(dir, net.ParseIP("127.0.0.1"))
	if err != nil {
		t.Fatalf("write kube PKI: %v", err)
	}
	k.CAPEM, k.CAFile = caPEM, filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(k.Token+",lifeboat-admin,lifeboat-admin,system:masters\n"), 0o600); err != nil {
		t.Fatalf("write token file: %v", err)
	}
	port := FreePort(t)
	k.URL = fmt.Sprintf("https://127.0.0.1:%d", port)
	api := StartProcess(t, "kube-apiserver", dir, nil, apiBin,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(port),
		"--tls-cert-file", filepath.Join(dir, "serving.pem"),
		"--tls-private-key-file", filepath.Join(dir, "serving-key.pem"),
		"--client-ca-file", k.CAFile,
		"--service-account-key-file", filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--authorization-mode", "RBAC",
		"--endpoint-reconciler-type", "none",
		// No controller-manager runs, so nothing would create the default ServiceAccount
		// the ServiceAccount admission plugin insists on.
		"--disable-admission-plugins", "ServiceAccount",
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--cert-dir", filepath.Join(dir, "certs"),
		"--enable-priority-and-fairness=false",
		"--v", "1")
	WaitFor(t, api, 120*time.Second, "kube-apiserver to be ready", func(ctx context.Context) error {
		_, err := k.Do(ctx, http.MethodGet, "/readyz", nil, nil)
		return err
	})
	// RBAC bootstrap roles arrive shortly after readyz on some starts; wait for them too.
	WaitFor(t, api, 60*time.Second, "default namespace", func(ctx context.Context) error {
		_, err := k.Do(ctx, http.MethodGet, "/api/v1/namespaces/default", nil, nil)
		return err
	})
	return k
}

// writeKubePKI writes a CA, a serving cert for the API server (valid for the given IPs,
// 10.96.0.1 and the in-cluster names) and the service-account key pair into dir, and
// returns the CA's PEM.
func writeKubePKI(dir string, ips ...net.IP) ([]byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lifeboat-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	servingTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  append(ips, net.ParseIP("10.96.0.1")),
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, servingTmpl, caCert, &servingKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	// The API server's client certificate towards kubelets (logs, exec), which the kubelet
	// authenticates against the same CA.
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, caCert, &clientKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	clientKeyDER, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	caKeyDER, err := x509.MarshalECPrivateKey(caKey)
	if err != nil {
		return nil, err
	}
	servingKeyDER, err := x509.MarshalECPrivateKey(servingKey)
	if err != nil {
		return nil, err
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"ca.pem":                 caPEM,
		"ca-key.pem":             pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: caKeyDER}),
		"serving.pem":            pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: servingDER}),
		"serving-key.pem":        pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: servingKeyDER}),
		"kubelet-client.pem":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientDER}),
		"kubelet-client-key.pem": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: clientKeyDER}),
		"sa.key":                 pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		"sa.pub":                 pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPubDER}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
	}
	return caPEM, nil
}

// KubeconfigYAML is a kubeconfig for the admin token (helm, kubelet and the control plane
// use it), with namespace as the context's default when not empty.
func (k *Kube) KubeconfigYAML(namespace string) string {
	ns := ""
	if namespace != "" {
		ns = ", namespace: " + namespace
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster: {server: %q, certificate-authority: %q}
users:
  - name: admin
    user: {token: %q}
contexts:
  - name: test
    context: {cluster: test, user: admin%s}
current-context: test
`, k.URL, k.CAFile, k.Token, ns)
}

// HTTPClient trusts the API server's CA.
func (k *Kube) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(k.CAPEM)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// Do sends a JSON request with the admin token; a non-2xx answer is an error. When out is
// non-nil the response body is decoded into it.
func (k *Kube) Do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.URL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
	}
	resp, err := k.HTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return data, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return data, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return data, nil
}

// MustDo is Do that fails the test on error.
func (k *Kube) MustDo(method, path string, body, out any) []byte {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data, err := k.Do(ctx, method, path, body, out)
	if err != nil {
		k.t.Fatal(err)
	}
	return data
}
