package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

func TestInClusterOutsideAPodSaysWhatToConfigure(t *testing.T) {
	_, err := inCluster(func(string) string { return "" }, t.TempDir(), "restore.kubernetes", "", "")
	if !errors.Is(err, ErrNotInCluster) || !strings.Contains(err.Error(), "set restore.kubernetes.kubeconfig (and context), or restore.kubernetes.server/caFile/tokenFile") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, api := range []*config.KubernetesAPI{nil, {}} {
		if _, err := RESTConfig(api, "kubernetes.api"); !errors.Is(err, ErrNotInCluster) || !strings.Contains(err.Error(), "kubernetes.api.server/caFile/tokenFile") {
			t.Fatalf("RESTConfig(%v) err = %v", api, err)
		}
	}
}

func TestInClusterUsesServiceAccountFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "token"), "t")
	for host, want := range map[string]string{"10.96.0.1": "https://10.96.0.1:6443", "fd00::1": "https://[fd00::1]:6443"} {
		env := map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": "6443"}
		cfg, err := inCluster(func(k string) string { return env[k] }, dir, RestoreField, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != want || cfg.BearerTokenFile != filepath.Join(dir, "token") || cfg.CAFile != filepath.Join(dir, "ca.crt") || cfg.BearerToken != "" {
			t.Fatalf("cfg = %+v", cfg)
		}
	}
}

func TestInClusterWithoutMountedTokenFails(t *testing.T) {
	env := map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1"}
	_, err := inCluster(func(k string) string { return env[k] }, t.TempDir(), RestoreField, "", "")
	if err == nil || !strings.Contains(err.Error(), "automountServiceAccountToken") || !strings.Contains(err.Error(), "restore.kubernetes.tokenFile") {
		t.Fatalf("err = %v", err)
	}
}

// tokenFile without server: the in-cluster API server with another service account's
// token (vault.autoRestore's own, inside the Vault pods), even where the pod's own token
// is not mounted.
func TestInClusterWithAnotherToken(t *testing.T) {
	env := map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1"}
	other := filepath.Join(t.TempDir(), "token")
	writeFile(t, other, "other-token\n")
	cfg, err := inCluster(func(k string) string { return env[k] }, t.TempDir(), RestoreField, other, "/other/ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://10.96.0.1:443" || cfg.BearerTokenFile != other || cfg.CAFile != "/other/ca.crt" {
		t.Fatalf("cfg = %+v", cfg)
	}
	empty := filepath.Join(t.TempDir(), "token")
	writeFile(t, empty, "")
	if _, err := inCluster(func(k string) string { return env[k] }, t.TempDir(), RestoreField, empty, ""); err == nil || !strings.Contains(err.Error(), "restore.kubernetes.tokenFile") {
		t.Fatalf("empty token file: %v", err)
	}
}

func TestFromConfigWithServerCAAndToken(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	writeFile(t, tok, "secret-token\n")
	cfg, err := FromConfig(&config.KubernetesAPI{Server: "https://k:6443", CAFile: "/ca", TokenFile: tok})
	if err != nil {
		t.Fatal(err)
	}
	// The token stays in its file: client-go reads it, and again when the kubelet rotates it.
	if cfg.Host != "https://k:6443" || cfg.CAFile != "/ca" || cfg.BearerTokenFile != tok || cfg.BearerToken != "" ||
		cfg.UserAgent != "lifeboat" || cfg.QPS != 50 || cfg.Timeout == 0 {
		t.Fatalf("cfg = %+v", cfg)
	}
}

func TestFromKubeconfigAndContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, path, `apiVersion: v1
kind: Config
clusters:
  - {name: prod, cluster: {server: "https://prod:6443", insecure-skip-tls-verify: false}}
  - {name: dr, cluster: {server: "https://dr:6443"}}
users:
  - {name: ops, user: {token: ops-token}}
contexts:
  - {name: prod, context: {cluster: prod, user: ops}}
  - {name: dr, context: {cluster: dr, user: ops}}
current-context: prod
`)
	for _, tc := range []struct{ context, host string }{{"", "https://prod:6443"}, {"dr", "https://dr:6443"}} {
		cfg, err := RESTConfig(&config.KubernetesAPI{Kubeconfig: path, Context: tc.context}, "kubernetes.api")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != tc.host || cfg.BearerToken != "ops-token" || cfg.UserAgent != "lifeboat" {
			t.Errorf("context %q: cfg = %+v", tc.context, cfg)
		}
	}
	_, err := FromConfig(&config.KubernetesAPI{Kubeconfig: path, Context: "staging"})
	if err == nil || !strings.Contains(err.Error(), "restore.kubernetes.kubeconfig "+path) || !strings.Contains(err.Error(), `"staging"`) {
		t.Fatalf("unknown context: %v", err)
	}
}

func TestBadSettingsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, " \n")
	for _, tc := range []struct {
		api  config.KubernetesAPI
		want string
	}{
		{config.KubernetesAPI{Server: "k8s:6443"}, `restore.kubernetes.server "k8s:6443" must be a URL like https://host:port`},
		{config.KubernetesAPI{Server: "https://k:6443", TokenFile: filepath.Join(dir, "missing")}, "read kubernetes token (restore.kubernetes.tokenFile): "},
		{config.KubernetesAPI{Server: "https://k:6443", TokenFile: empty}, "(restore.kubernetes.tokenFile) is empty"},
		{config.KubernetesAPI{Kubeconfig: filepath.Join(dir, "missing")}, "restore.kubernetes.kubeconfig " + filepath.Join(dir, "missing")},
	} {
		if _, err := FromConfig(&tc.api); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromConfig(%+v) = %v, want it to contain %q", tc.api, err, tc.want)
		}
	}
}

func TestNewRejectsBadCA(t *testing.T) {
	for _, cfg := range []*rest.Config{
		{Host: "https://k:6443", TLSClientConfig: rest.TLSClientConfig{CAData: []byte("not pem")}},
		{Host: "https://k:6443", TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(t.TempDir(), "missing.pem")}},
	} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "kubernetes client for https://k:6443") {
			t.Errorf("New(%+v) = %v", cfg, err)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
