package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// openBao is a 3-replica OpenBao StatefulSet on raft with PVCs and TLS, as a platform runs
// it. There is no cluster DNS in the test cluster, so each replica has a Service with a
// fixed ClusterIP (kube-proxy routes it) that is its api_addr and cluster_addr and what
// the certificate names.
type openBao struct {
	ns        string
	base      int // replica i's Service is 10.96.0.(base+i)
	caPEM     []byte
	rootToken string
	keys      []string // unseal keys (base64)
	// sidecars and volumes are added to the pod template (the auto-restore sidecar).
	sidecars, volumes []any
	t                 *testing.T
	c                 *testenv.Cluster
}

const openBaoReplicas = 3

// ip is replica i's Service address: in the static band of the Service range (its first
// 256 addresses for a /16), which the API server never hands out on its own.
func (b *openBao) ip(i int) string { return fmt.Sprintf("10.96.0.%d", b.base+i) }

func (b *openBao) addr(i int) string { return "https://" + b.ip(i) + ":8200" }

// addrs are every replica's API address.
func (b *openBao) addrs() []string {
	var out []string
	for i := 0; i < openBaoReplicas; i++ {
		out = append(out, b.addr(i))
	}
	return out
}

func (b *openBao) client(i int, token string) *vaultapi.Client {
	b.t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = b.addr(i)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.caPEM)
	cfg.HttpClient.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	cfg.HttpClient.Timeout = 30 * time.Second
	cl, err := vaultapi.NewClient(cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	cl.SetToken(token)
	return cl
}

// issueTLS makes a CA and a serving certificate for the replicas' Service IPs.
func issueTLS(t *testing.T, ips []string) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "openbao-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "openbao"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames: []string{"localhost", "openbao"},
	}
	for _, ip := range append(ips, "127.0.0.1") {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// deployOpenBao creates the namespace's OpenBao: TLS Secret, config, per-replica Services,
// the StatefulSet; then initialises replica 0, unseals every replica (1 and 2 join
// through retry_join) and waits for three raft voters.
// Each test's OpenBao has its own Service addresses, 10.96.0.(base..base+2).
func deployOpenBao(t *testing.T, c *testenv.Cluster, ns string, base int) *openBao {
	t.Helper()
	b := &openBao{ns: ns, base: base, t: t, c: c}
	var ips []string
	for i := 0; i < openBaoReplicas; i++ {
		ips = append(ips, b.ip(i))
	}
	var certPEM, keyPEM []byte
	b.caPEM, certPEM, keyPEM = issueTLS(t, ips)
	caPEM := b.caPEM
	namespace(t, c, ns)
	create(t, c, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "openbao", "namespace": ns}})
	// OpenBao reviews lifeboat's service-account tokens with its own (Kubernetes auth).
	create(t, c, map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": ns + "-openbao-auth-delegator"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "openbao", "namespace": ns}},
	})
	secret(t, c, ns, "openbao-tls", map[string]string{"ca.crt": string(caPEM), "tls.crt": string(certPEM), "tls.key": string(keyPEM)})
	var joins strings.Builder
	for _, ip := range ips {
		fmt.Fprintf(&joins, "  retry_join {\n    leader_api_addr = \"https://%s:8200\"\n    leader_ca_cert_file = \"/openbao/tls/ca.crt\"\n  }\n", ip)
	}
	create(t, c, map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "openbao-config", "namespace": ns},
		"data": map[string]string{"bao.hcl": `ui = false
disable_mlock = true
listener "tcp" {
  address = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file = "/openbao/tls/tls.crt"
  tls_key_file = "/openbao/tls/tls.key"
}
storage "raft" {
  path = "/openbao/data"
` + joins.String() + `}
`},
	})
	for i, ip := range ips {
		create(t, c, map[string]any{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": fmt.Sprintf("openbao-%d", i), "namespace": ns},
			"spec": map[string]any{
				"clusterIP": ip,
				"selector":  map[string]string{"statefulset.kubernetes.io/pod-name": fmt.Sprintf("openbao-%d", i)},
				"ports": []any{
					map[string]any{"name": "api", "port": 8200},
					map[string]any{"name": "cluster", "port": 8201},
				},
				// Raft peers and the joining replicas talk before anything is "ready".
				"publishNotReadyAddresses": true,
			},
		})
	}
	create(t, c, map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "openbao-internal", "namespace": ns},
		"spec": map[string]any{
			"clusterIP": "None", "selector": map[string]string{"app": "openbao"},
			"ports": []any{map[string]any{"name": "api", "port": 8200}},
		},
	})
	b.createStatefulSet()
	b.initAndUnseal()
	return b
}

func (b *openBao) createStatefulSet() {
	t, c := b.t, b.c
	// Each replica's addresses are its own Service's; the shell maps the ordinal to it.
	start := `i="${HOSTNAME##*-}"; ip="10.96.0.$((` + fmt.Sprint(b.base) + ` + i))"
export BAO_API_ADDR="https://$ip:8200" BAO_CLUSTER_ADDR="https://$ip:8201"
exec /usr/local/bin/bao server -config=/openbao/config/bao.hcl`
	create(t, c, map[string]any{
		"apiVersion": "apps/v1", "kind": "StatefulSet",
		"metadata": map[string]any{"name": "openbao", "namespace": b.ns},
		"spec": map[string]any{
			"serviceName":         "openbao-internal",
			"replicas":            openBaoReplicas,
			"podManagementPolicy": "Parallel",
			"selector":            map[string]any{"matchLabels": map[string]string{"app": "openbao"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]string{"app": "openbao"}},
				"spec": map[string]any{
					"serviceAccountName":            "openbao",
					"terminationGracePeriodSeconds": 5,
					"securityContext":               map[string]any{"runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532},
					"initContainers":                b.sidecars,
					"containers": []any{map[string]any{
						"name": "openbao", "image": lifeboatImage, "imagePullPolicy": "Never",
						"command": []string{"/bin/sh", "-c", start},
						"env":     []any{map[string]any{"name": "BAO_LOG_LEVEL", "value": "info"}},
						"ports":   []any{map[string]any{"containerPort": 8200}, map[string]any{"containerPort": 8201}},
						"volumeMounts": []any{
							map[string]any{"name": "data", "mountPath": "/openbao/data"},
							map[string]any{"name": "config", "mountPath": "/openbao/config"},
							map[string]any{"name": "tls", "mountPath": "/openbao/tls"},
						},
					}},
					"volumes": append([]any{
						map[string]any{"name": "config", "configMap": map[string]any{"name": "openbao-config"}},
						map[string]any{"name": "tls", "secret": map[string]any{"secretName": "openbao-tls"}},
					}, b.volumes...),
				},
			},
			"volumeClaimTemplates": []any{map[string]any{
				"metadata": map[string]any{"name": "data"},
				"spec": map[string]any{
					"accessModes": []string{"ReadWriteOnce"},
					"resources":   map[string]any{"requests": map[string]string{"storage": "1Gi"}},
				},
			}},
		},
	})
}

// sealStatus asks replica i; an error means it does not answer (yet).
func (b *openBao) sealStatus(i int) (*vaultapi.SealStatusResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return b.client(i, "").Sys().SealStatusWithContext(ctx)
}

func (b *openBao) waitAnswering() {
	b.t.Helper()
	for i := 0; i < openBaoReplicas; i++ {
		waitUntil(b.t, 3*time.Minute, fmt.Sprintf("openbao-%d to answer", i), func() error {
			_, err := b.sealStatus(i)
			if err != nil {
				return fmt.Errorf("%v\n%s", err, podsLog(b.c, b.ns, "app=openbao"))
			}
			return nil
		})
	}
}

func (b *openBao) initAndUnseal() {
	t := b.t
	b.waitAnswering()
	resp, err := b.client(0, "").Sys().Init(&vaultapi.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatalf("init openbao-0: %v", err)
	}
	b.rootToken, b.keys = resp.RootToken, resp.KeysB64
	b.unsealAll()
	root := b.client(0, b.rootToken)
	if err := root.Sys().PutPolicy("snapshot", vault.SnapshotPolicy); err != nil {
		t.Fatal(err)
	}
}

// unsealAll unseals every replica with the keys (a joining replica finishes its join once
// unsealed) and waits until all three are raft voters behind one leader.
func (b *openBao) unsealAll() {
	t := b.t
	for i := 0; i < openBaoReplicas; i++ {
		waitUntil(t, 3*time.Minute, fmt.Sprintf("openbao-%d to unseal", i), func() error {
			st, err := b.sealStatus(i)
			if err != nil {
				return err
			}
			if !st.Sealed {
				return nil
			}
			if !st.Initialized {
				return fmt.Errorf("not initialised yet (joining)")
			}
			for _, k := range b.keys[:2] {
				if _, err := b.client(i, "").Sys().Unseal(k); err != nil {
					return err
				}
			}
			return fmt.Errorf("unseal sent")
		})
	}
	b.waitVoters()
}

func (b *openBao) waitVoters() {
	waitUntil(b.t, 3*time.Minute, "three healthy raft voters", func() error {
		cl := b.client(0, b.rootToken)
		sec, err := cl.Logical().Read("sys/storage/raft/configuration")
		if err != nil {
			return err
		}
		if sec == nil {
			return fmt.Errorf("no raft configuration")
		}
		cfg, _ := sec.Data["config"].(map[string]any)
		servers, _ := cfg["servers"].([]any)
		voters := 0
		for _, s := range servers {
			if m, _ := s.(map[string]any); m["voter"] == true {
				voters++
			}
		}
		if voters != openBaoReplicas {
			return fmt.Errorf("%d voters: %v", voters, servers)
		}
		for i := 0; i < openBaoReplicas; i++ {
			st, err := b.sealStatus(i)
			if err != nil || st.Sealed {
				return fmt.Errorf("openbao-%d sealed or down (%v)", i, err)
			}
		}
		return nil
	})
}

// enableKubernetesAuth lets the service account sa in the namespaces log in with role "lifeboat" and
// the snapshot policy; OpenBao reviews the token with the API through the kubernetes
// Service, using its own pod's token.
func (b *openBao) enableKubernetesAuth(sa string, namespaces ...string) {
	t := b.t
	root := b.client(0, b.rootToken)
	if err := root.Sys().EnableAuthWithOptions("kubernetes", &vaultapi.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/kubernetes/config", map[string]any{
		"kubernetes_host":    "https://" + testenv.APIServiceIP + ":443",
		"kubernetes_ca_cert": string(b.c.CAPEM),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/kubernetes/role/lifeboat", map[string]any{
		"bound_service_account_names":      sa,
		"bound_service_account_namespaces": strings.Join(namespaces, ","),
		"token_policies":                   "snapshot",
		"token_ttl":                        "10m",
	}); err != nil {
		t.Fatal(err)
	}
}

// writeSecrets stores n KV v2 secrets under secret/app/<i> and returns them.
func (b *openBao) writeSecrets(n int) map[string]string {
	t := b.t
	root := b.client(0, b.rootToken)
	if err := root.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i < n; i++ {
		path := fmt.Sprintf("app/%d", i)
		value := fmt.Sprintf("value-%d-%d", i, time.Now().UnixNano())
		// A new KV v2 mount answers "upgrading from non-versioned to versioned data" for a
		// moment; writes are retried until it is ready.
		waitUntil(t, time.Minute, "a write to secret/"+path, func() error {
			_, err := root.KVv2("secret").Put(context.Background(), path, map[string]any{"v": value})
			return err
		})
		want[path] = value
	}
	return want
}

// checkSecrets reads every secret back through replica i.
func (b *openBao) checkSecrets(i int, token string, want map[string]string) error {
	cl := b.client(i, token)
	for path, value := range want {
		s, err := cl.KVv2("secret").Get(context.Background(), path)
		if err != nil {
			return fmt.Errorf("read secret/%s: %w", path, err)
		}
		if got, _ := s.Data["v"].(string); got != value {
			return fmt.Errorf("secret/%s = %q, want %q", path, got, value)
		}
	}
	return nil
}
