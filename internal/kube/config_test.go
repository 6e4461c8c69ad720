package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

func TestInClusterOutsideAPodSaysWhatToConfigure(t *testing.T) {
	_, err := inCluster(func(string) string { return "" }, t.TempDir())
	if !errors.Is(err, ErrNotInCluster) || !strings.Contains(err.Error(), "set restore.kubernetes.server/caFile/tokenFile") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := FromConfig(nil); !errors.Is(err, ErrNotInCluster) {
		t.Fatalf("FromConfig(nil) err = %v", err)
	}
}

func TestInClusterUsesServiceAccountFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("t"), 0o600); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"10.96.0.1": "https://10.96.0.1:6443", "fd00::1": "https://[fd00::1]:6443"} {
		env := map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": "6443"}
		cfg, err := inCluster(func(k string) string { return env[k] }, dir)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Server != want || cfg.TokenFile != filepath.Join(dir, "token") || cfg.CAFile != filepath.Join(dir, "ca.crt") || cfg.Token != "" {
			t.Fatalf("cfg = %+v", cfg)
		}
	}
}

func TestInClusterWithoutMountedTokenFails(t *testing.T) {
	env := map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1"}
	_, err := inCluster(func(k string) string { return env[k] }, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "automountServiceAccountToken") {
		t.Fatalf("err = %v", err)
	}
}

func TestFromConfigOutsideACluster(t *testing.T) {
	cfg, err := FromConfig(&config.KubernetesAPI{Server: "https://k:6443", CAFile: "/ca", TokenFile: "/tok"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server != "https://k:6443" || cfg.CAFile != "/ca" || cfg.TokenFile != "/tok" {
		t.Fatalf("cfg = %+v", cfg)
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	for _, cfg := range []Config{
		{Server: "k8s:6443"},
		{Server: "https://k:6443", CAData: []byte("not pem")},
		{Server: "https://k:6443", CAFile: filepath.Join(t.TempDir(), "missing.pem")},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
