package hooks_test

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/hooks"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// cluster is one API server shared by the subtests of a test; each subtest works in its
// own namespace.
type cluster struct {
	k     *testenv.Kube
	admin *kube.Client
}

func startCluster(t *testing.T) *cluster {
	k := testenv.StartKube(t)
	c, err := kube.New(&rest.Config{Host: k.URL, BearerToken: k.Token, TLSClientConfig: rest.TLSClientConfig{CAData: k.CAPEM}})
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{k: k, admin: c}
}

func (c *cluster) factory() hooks.ClientFactory {
	return func() (*kube.Client, error) { return c.admin, nil }
}

// namespace creates ns with Deployments a (2 replicas) and b (3 replicas).
func (c *cluster) namespace(t *testing.T, ns string) []config.DeploymentRef {
	t.Helper()
	c.k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": ns}}, nil)
	c.deployment(ns, "a", 2)
	c.deployment(ns, "b", 3)
	return []config.DeploymentRef{{Namespace: ns, Name: "a"}, {Namespace: ns, Name: "b"}}
}

func (c *cluster) deployment(ns, name string, replicas int32) {
	labels := map[string]string{"app": name}
	c.k.MustDo(http.MethodPost, "/apis/apps/v1/namespaces/"+ns+"/deployments", map[string]any{
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

// pod creates a pod of Deployment app. Nothing schedules it: it stays Pending, which is
// "running" as far as a restore is concerned.
func (c *cluster) pod(ns, name, app string, finalizers ...string) {
	c.k.MustDo(http.MethodPost, "/api/v1/namespaces/"+ns+"/pods", map[string]any{
		"metadata": map[string]any{"name": name, "labels": map[string]string{"app": app}, "finalizers": finalizers},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": "registry.invalid/none"}}},
	}, nil)
}

// state is a Deployment's replicas and lifeboat annotation ("" when absent), read with the
// admin token, independently of the code under test.
type state struct {
	replicas   int32
	annotation string
}

func (c *cluster) state(t *testing.T, ref config.DeploymentRef) state {
	t.Helper()
	var d struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Replicas int32 `json:"replicas"`
		} `json:"spec"`
	}
	c.k.MustDo(http.MethodGet, "/apis/apps/v1/namespaces/"+ref.Namespace+"/deployments/"+ref.Name, nil, &d)
	return state{d.Spec.Replicas, d.Metadata.Annotations[hooks.Annotation]}
}

func (c *cluster) expect(t *testing.T, ref config.DeploymentRef, want state) {
	t.Helper()
	if got := c.state(t, ref); got != want {
		t.Errorf("deployment %s/%s = %+v, want %+v", ref.Namespace, ref.Name, got, want)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// resultFile is an After command that appends LIFEBOAT_RESTORE_RESULT to a file, and a
// function returning what it recorded.
func resultFile(t *testing.T) ([]string, func() string) {
	path := filepath.Join(t.TempDir(), "results")
	return []string{"/bin/sh", "-c", `echo "$LIFEBOAT_RESTORE_RESULT" >> "$0"`, path}, func() string {
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(data))
	}
}
