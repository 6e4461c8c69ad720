package kube_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// These tests run against a real kube-apiserver. Nothing runs controllers there, so a
// Deployment's status never changes: the tests look at spec, metadata and pods only.

func TestClientAgainstAPIServer(t *testing.T) {
	k := testenv.StartKube(t)
	ns := "lifeboat-kube"
	k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": ns}}, nil)
	createDeployment(k, ns, "web", 2)
	admin := newClient(t, &rest.Config{Host: k.URL, BearerToken: k.Token, TLSClientConfig: rest.TLSClientConfig{CAData: k.CAPEM}})
	ctx := context.Background()

	t.Run("scale", func(t *testing.T) {
		s, err := admin.GetScale(ctx, ns, "web")
		if err != nil {
			t.Fatal(err)
		}
		if s.Spec != 2 || s.Status != 0 || s.Selector != "app=web" {
			t.Fatalf("scale = %+v", s)
		}
		if err := admin.SetScale(ctx, ns, "web", 0); err != nil {
			t.Fatal(err)
		}
		if d, err := admin.GetDeployment(ctx, ns, "web"); err != nil || d.Replicas != 0 {
			t.Fatalf("after SetScale(0): %+v, %v", d, err)
		}
		if err := admin.SetScale(ctx, ns, "web", 2); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("annotate", func(t *testing.T) {
		if err := admin.Annotate(ctx, ns, "web", "lifeboat.dev/test", "7"); err != nil {
			t.Fatal(err)
		}
		d, err := admin.GetDeployment(ctx, ns, "web")
		if err != nil || d.Annotations["lifeboat.dev/test"] != "7" || d.Replicas != 2 {
			t.Fatalf("after annotate: %+v, %v", d, err)
		}
		if err := admin.Annotate(ctx, ns, "web", "lifeboat.dev/test", ""); err != nil {
			t.Fatal(err)
		}
		if d, err := admin.GetDeployment(ctx, ns, "web"); err != nil || len(d.Annotations) != 0 {
			t.Fatalf("after removing: %+v, %v", d, err)
		}
	})

	t.Run("secret", func(t *testing.T) {
		k.MustDo(http.MethodPost, "/api/v1/namespaces/"+ns+"/secrets", map[string]any{
			"metadata":   map[string]any{"name": "keys"},
			"stringData": map[string]string{"key-0": "unseal\x00bytes"},
		}, nil)
		data, err := admin.GetSecret(ctx, ns, "keys")
		if err != nil || string(data["key-0"]) != "unseal\x00bytes" {
			t.Fatalf("GetSecret = %q, %v", data, err)
		}
	})

	t.Run("live pods", func(t *testing.T) {
		createPod(k, ns, "web-1", "web")
		createPod(k, ns, "web-done", "web")
		createPod(k, ns, "other", "other")
		// Only the status subresource can set a phase; no kubelet would do it here.
		k.MustDo(http.MethodPatch, "/api/v1/namespaces/"+ns+"/pods/web-done/status", map[string]any{"status": map[string]any{"phase": "Succeeded"}}, nil)
		names, err := admin.LivePods(ctx, ns, "app=web")
		if err != nil || !slices.Equal(names, []string{"web-1"}) {
			t.Fatalf("LivePods = %v, %v", names, err)
		}
	})

	t.Run("delete pod", func(t *testing.T) {
		createPod(k, ns, "vault-0", "vault")
		if err := admin.DeletePod(ctx, ns, "vault-0"); err != nil {
			t.Fatal(err)
		}
		// Without a kubelet the pod is gone at once (nothing has to stop its containers).
		if names, err := admin.LivePods(ctx, ns, "app=vault"); err != nil || len(names) != 0 {
			t.Fatalf("after DeletePod: %v, %v", names, err)
		}
		if err := admin.DeletePod(ctx, ns, "vault-0"); err != nil {
			t.Fatalf("deleting a pod that is gone: %v", err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := admin.GetScale(ctx, ns, "nope")
		if !errors.Is(err, kube.ErrNotFound) || !strings.HasPrefix(err.Error(), "deployment lifeboat-kube/nope not found") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("bad token", func(t *testing.T) {
		c := newClient(t, &rest.Config{Host: k.URL, BearerToken: "wrong", TLSClientConfig: rest.TLSClientConfig{CAFile: k.CAFile}})
		_, err := c.GetDeployment(ctx, ns, "web")
		if !errors.Is(err, kube.ErrUnauthorized) || !strings.Contains(err.Error(), "the Kubernetes API rejected lifeboat's token") {
			t.Fatalf("err = %v", err)
		}
		t.Logf("the operator reads: %v", err)
	})

	t.Run("unknown CA", func(t *testing.T) {
		c := newClient(t, &rest.Config{Host: k.URL, BearerToken: k.Token}) // system roots only
		start := time.Now()
		_, err := c.GetDeployment(ctx, ns, "web")
		if err == nil || !strings.Contains(err.Error(), "check restore.kubernetes.caFile") || time.Since(start) > time.Second {
			t.Fatalf("err = %v after %s", err, time.Since(start))
		}
		t.Logf("the operator reads: %v", err)
	})

	t.Run("server, CA and token files from the config file", func(t *testing.T) {
		tokenFile := filepath.Join(t.TempDir(), "token")
		writeFile(t, tokenFile, k.Token+"\n")
		c := fromConfig(t, &config.KubernetesAPI{Server: k.URL, CAFile: k.CAFile, TokenFile: tokenFile})
		if d, err := c.GetDeployment(ctx, ns, "web"); err != nil || d.Replicas != 2 {
			t.Fatalf("GetDeployment = %+v, %v", d, err)
		}
	})

	t.Run("kubeconfig and context from the config file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kubeconfig")
		writeFile(t, path, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users:
  - {name: admin, user: {token: %q}}
  - {name: revoked, user: {token: revoked-token}}
contexts:
  - {name: admin, context: {cluster: test, user: admin}}
  - {name: revoked, context: {cluster: test, user: revoked}}
current-context: revoked
`, k.URL, k.CAFile, k.Token))
		c := fromConfig(t, &config.KubernetesAPI{Kubeconfig: path, Context: "admin"})
		if d, err := c.GetDeployment(ctx, ns, "web"); err != nil || d.Replicas != 2 {
			t.Fatalf("with context admin: %+v, %v", d, err)
		}
		// Without a context, the kubeconfig's current context (with a revoked token) is used.
		c = fromConfig(t, &config.KubernetesAPI{Kubeconfig: path})
		_, err := c.GetDeployment(ctx, ns, "web")
		if !errors.Is(err, kube.ErrUnauthorized) || !strings.Contains(err.Error(), "the user of the kubeconfig's context") {
			t.Fatalf("with the current context: %v", err)
		}
	})

	t.Run("forbidden names the missing permission", func(t *testing.T) {
		k.MustDo(http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts", map[string]any{"metadata": map[string]any{"name": "nobody"}}, nil)
		var tr struct {
			Status struct {
				Token string `json:"token"`
			} `json:"status"`
		}
		k.MustDo(http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts/nobody/token", map[string]any{"spec": map[string]any{"expirationSeconds": 600}}, &tr)
		c := newClient(t, &rest.Config{Host: k.URL, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: k.CAFile}})
		_, err := c.GetSecret(ctx, ns, "keys")
		want := "forbidden: lifeboat's service account needs RBAC permission to get secrets in namespace lifeboat-kube: "
		if !errors.Is(err, kube.ErrForbidden) || !strings.HasPrefix(err.Error(), want) ||
			!strings.Contains(err.Error(), "system:serviceaccount:lifeboat-kube:nobody") || !strings.HasSuffix(err.Error(), "; see the Helm chart's Role") {
			t.Fatalf("err = %v", err)
		}
		t.Logf("the operator reads: %v", err)
	})

	t.Run("context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		if _, err := admin.GetDeployment(cctx, ns, "web"); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
			t.Fatalf("cancelled call: %v after %s", err, time.Since(start))
		}
	})
}

func fromConfig(t *testing.T, api *config.KubernetesAPI) *kube.Client {
	t.Helper()
	cfg, err := kube.FromConfig(api)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, cfg)
}

func newClient(t *testing.T, cfg *rest.Config) *kube.Client {
	t.Helper()
	c, err := kube.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createDeployment(k *testenv.Kube, ns, name string, replicas int32) {
	labels := map[string]string{"app": name}
	k.MustDo(http.MethodPost, "/apis/apps/v1/namespaces/"+ns+"/deployments", map[string]any{
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": "registry.invalid/none"}}},
			},
		},
	}, nil)
}

func createPod(k *testenv.Kube, ns, name, app string) {
	k.MustDo(http.MethodPost, "/api/v1/namespaces/"+ns+"/pods", map[string]any{
		"metadata": map[string]any{"name": name, "labels": map[string]string{"app": app}},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": "registry.invalid/none"}}},
	}, nil)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
