package hooks_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/hooks"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
	"sigs.k8s.io/yaml"
)

// TestAround runs the hooks against a real kube-apiserver. No controller-manager runs, so
// scaling a Deployment changes its spec only, and pods exist only when a test creates them.
func TestAround(t *testing.T) {
	c := startCluster(t)
	errRestore := errors.New("pg_restore failed")

	t.Run("scales down for the restore and back after", func(t *testing.T) {
		refs := c.namespace(t, "ok")
		after, results := resultFile(t)
		beforeRan := filepath.Join(t.TempDir(), "before")
		h := &config.RestoreHooks{ScaleDown: refs, Before: [][]string{{"touch", beforeRan}}, After: [][]string{after}}
		called := false
		err := hooks.Around(t.Context(), h, c.factory(), testLogger(t), func(context.Context) error {
			called = true
			if _, err := os.Stat(beforeRan); err != nil {
				t.Errorf("before command did not run first: %v", err)
			}
			c.expect(t, refs[0], state{0, "2"})
			c.expect(t, refs[1], state{0, "3"})
			if results() != "" {
				t.Error("after command ran before the restore")
			}
			return nil
		})
		if err != nil || !called {
			t.Fatalf("Around = %v, restore called %v", err, called)
		}
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{3, ""})
		if got := results(); got != "ok" {
			t.Errorf("after command saw %s=%q, want ok", hooks.ResultEnv, got)
		}
	})

	t.Run("failed restore still scales back", func(t *testing.T) {
		refs := c.namespace(t, "failed")
		after, results := resultFile(t)
		h := &config.RestoreHooks{ScaleDown: refs, After: [][]string{after}}
		err := hooks.Around(t.Context(), h, c.factory(), testLogger(t), func(context.Context) error { return errRestore })
		if err != errRestore {
			t.Fatalf("Around = %v, want the restore's error as it is", err)
		}
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{3, ""})
		if got := results(); got != "failed" {
			t.Errorf("after command saw %q, want failed", got)
		}
	})

	t.Run("interrupted restore still scales back", func(t *testing.T) {
		refs := c.namespace(t, "interrupted")
		after, results := resultFile(t)
		h := &config.RestoreHooks{ScaleDown: refs, After: [][]string{after}}
		rctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		err := hooks.Around(rctx, h, c.factory(), testLogger(t), func(ctx context.Context) error {
			cancel() // the operator pressed Ctrl-C
			return ctx.Err()
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Around = %v", err)
		}
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{3, ""})
		if got := results(); got != "failed" {
			t.Errorf("after command saw %q, want failed", got)
		}
	})

	t.Run("failing before command aborts before anything is scaled", func(t *testing.T) {
		refs := c.namespace(t, "before")
		after, results := resultFile(t)
		h := &config.RestoreHooks{
			ScaleDown: refs,
			Before:    [][]string{{"/bin/sh", "-c", "echo cannot suspend cron workflows >&2; exit 3"}, {"touch", filepath.Join(t.TempDir(), "x")}},
			After:     [][]string{after},
		}
		err := hooks.Around(t.Context(), h, func() (*kube.Client, error) {
			t.Error("kubernetes client created although a before command failed")
			return c.admin, nil
		}, testLogger(t), func(context.Context) error {
			t.Error("restore called although a before command failed")
			return nil
		})
		for _, want := range []string{"restore not started", `["/bin/sh" "-c" "echo cannot suspend`, "exit status 3", `last stderr line: "cannot suspend cron workflows"`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Around = %v, want it to contain %q", err, want)
			}
		}
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{3, ""})
		// After commands are cleanup: they undo what the Before commands that did run did.
		if got := results(); got != "failed" {
			t.Errorf("after command saw %q, want failed", got)
		}
	})

	t.Run("missing deployment scales back the ones before it", func(t *testing.T) {
		refs := c.namespace(t, "missing")
		list := []config.DeploymentRef{refs[0], {Namespace: "missing", Name: "nope"}, refs[1]}
		_, err := hooks.ScaleDown(t.Context(), c.admin, list, time.Minute, testLogger(t))
		if !errors.Is(err, kube.ErrNotFound) || !strings.Contains(err.Error(), "deployment missing/nope not found") || !strings.Contains(err.Error(), "check restore.scaleDown") {
			t.Fatalf("ScaleDown = %v", err)
		}
		t.Logf("the operator reads: %v", err)
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{3, ""})
	})

	t.Run("rerun after a crash restores the recorded count", func(t *testing.T) {
		refs := c.namespace(t, "crashed")
		// What a lifeboat that died mid-restore leaves behind: a annotated and at 0.
		c.k.MustDo(http.MethodPatch, "/apis/apps/v1/namespaces/crashed/deployments/a", map[string]any{
			"metadata": map[string]any{"annotations": map[string]string{hooks.Annotation: "2"}},
			"spec":     map[string]any{"replicas": 0},
		}, nil)
		err := hooks.Around(t.Context(), &config.RestoreHooks{ScaleDown: refs}, c.factory(), testLogger(t), func(context.Context) error {
			c.expect(t, refs[0], state{0, "2"})
			c.expect(t, refs[1], state{0, "3"})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{3, ""})
	})

	t.Run("stale annotation on a running deployment is replaced", func(t *testing.T) {
		refs := c.namespace(t, "stale")
		c.k.MustDo(http.MethodPatch, "/apis/apps/v1/namespaces/stale/deployments/a", map[string]any{
			"metadata": map[string]any{"annotations": map[string]string{hooks.Annotation: "7"}},
		}, nil)
		err := hooks.Around(t.Context(), &config.RestoreHooks{ScaleDown: refs}, c.factory(), testLogger(t), func(context.Context) error {
			c.expect(t, refs[0], state{0, "2"})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c.expect(t, refs[0], state{2, ""})
	})

	t.Run("unreadable annotation stops before anything is scaled", func(t *testing.T) {
		refs := c.namespace(t, "garbage")
		c.k.MustDo(http.MethodPatch, "/apis/apps/v1/namespaces/garbage/deployments/b", map[string]any{
			"metadata": map[string]any{"annotations": map[string]string{hooks.Annotation: "two"}},
			"spec":     map[string]any{"replicas": 0},
		}, nil)
		_, err := hooks.ScaleDown(t.Context(), c.admin, refs, time.Minute, testLogger(t))
		if err == nil || !strings.Contains(err.Error(), `annotation lifeboat.dev/replicas-before-restore="two", which is not a replica count`) {
			t.Fatalf("ScaleDown = %v", err)
		}
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{0, "two"})
	})

	t.Run("waits for terminating pods to be gone", func(t *testing.T) {
		refs := c.namespace(t, "terminating")
		// A finalizer keeps the deleted pod around in Terminating, like a pod in its
		// grace period: status.replicas no longer counts it, but it may still write.
		c.pod("terminating", "a-1", "a", "lifeboat.dev/test")
		c.k.MustDo(http.MethodDelete, "/api/v1/namespaces/terminating/pods/a-1", nil, nil)
		go func() {
			time.Sleep(1500 * time.Millisecond)
			if _, err := c.k.Do(t.Context(), http.MethodPatch, "/api/v1/namespaces/terminating/pods/a-1", map[string]any{"metadata": map[string]any{"finalizers": nil}}, nil); err != nil {
				t.Errorf("remove finalizer: %v", err)
			}
		}()
		start := time.Now()
		up, err := hooks.ScaleDown(t.Context(), c.admin, refs, time.Minute, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < time.Second {
			t.Errorf("ScaleDown returned after %s, before the pod was gone", took)
		}
		if err := up(t.Context()); err != nil {
			t.Fatal(err)
		}
		c.expect(t, refs[0], state{2, ""})
	})

	t.Run("gives up on pods that do not stop and scales back", func(t *testing.T) {
		refs := c.namespace(t, "stuck")
		c.pod("stuck", "b-1", "b")
		h := &config.RestoreHooks{ScaleDown: refs, ScaleTimeout: config.Duration{Duration: 2 * time.Second}}
		err := hooks.Around(t.Context(), h, c.factory(), testLogger(t), func(context.Context) error {
			t.Error("restore called while pods were running")
			return nil
		})
		for _, want := range []string{"still running after 2s", "deployment stuck/b has pods b-1", `kubectl -n stuck get pods -l "app=b"`, "raise restore.scaleTimeout"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Around = %v, want it to contain %q", err, want)
			}
		}
		t.Logf("the operator reads: %v", err)
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{3, ""})
	})

	t.Run("reaches the API server through a kubeconfig context", func(t *testing.T) {
		refs := c.namespace(t, "kubeconfig")
		path := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(path, []byte(c.k.KubeconfigYAML("")), 0o600); err != nil {
			t.Fatal(err)
		}
		h := &config.RestoreHooks{ScaleDown: refs, Kubernetes: &config.KubernetesAPI{Kubeconfig: path, Context: "test"}}
		err := hooks.Around(t.Context(), h, hooks.ClientFrom(h.Kubernetes), testLogger(t), func(context.Context) error {
			c.expect(t, refs[0], state{0, "2"})
			c.expect(t, refs[1], state{0, "3"})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{3, ""})

		// A context the kubeconfig lacks: nothing is scaled, and the message names the setting.
		h.Kubernetes.Context = "prod"
		err = hooks.Around(t.Context(), h, hooks.ClientFrom(h.Kubernetes), testLogger(t), func(context.Context) error {
			t.Error("restore called without a client")
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "restore not started: kubernetes client for scaleDown: restore.kubernetes.kubeconfig "+path) || !strings.Contains(err.Error(), `"prod"`) {
			t.Fatalf("Around = %v", err)
		}
		t.Logf("the operator reads: %v", err)
		c.expect(t, refs[0], state{2, ""})
	})

	t.Run("least privilege", func(t *testing.T) {
		refs := c.namespace(t, "app")
		other := config.DeploymentRef{Namespace: "elsewhere", Name: "x"}
		c.k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": other.Namespace}}, nil)
		c.deployment(other.Namespace, other.Name, 1)
		factory := c.serviceAccount(t, "app", "lifeboat")

		// (a) the Role from RequiredRBAC is enough for the whole cycle.
		called := false
		err := hooks.Around(t.Context(), &config.RestoreHooks{ScaleDown: refs}, factory, testLogger(t), func(context.Context) error {
			called = true
			c.expect(t, refs[0], state{0, "2"})
			c.expect(t, refs[1], state{0, "3"})
			return nil
		})
		if err != nil || !called {
			t.Fatalf("Around with the least-privilege Role = %v (restore called %v)", err, called)
		}
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, refs[1], state{3, ""})

		// (b) a Deployment outside the Role's namespace: a message that says what to grant,
		// and the one already scaled down is back.
		err = hooks.Around(t.Context(), &config.RestoreHooks{ScaleDown: []config.DeploymentRef{refs[0], other}}, factory, testLogger(t), func(context.Context) error {
			t.Error("restore called although scale-down failed")
			return nil
		})
		want := "forbidden: lifeboat's service account needs RBAC permission to get deployments in namespace elsewhere: "
		if !errors.Is(err, kube.ErrForbidden) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "see the Helm chart's Role") {
			t.Fatalf("Around = %v", err)
		}
		t.Logf("the operator reads: %v", err)
		c.expect(t, refs[0], state{2, ""})
		c.expect(t, other, state{1, ""})
	})
}

// serviceAccount creates a ServiceAccount bound to a Role with RequiredRBAC in ns, and
// returns a factory for a client that authenticates with a token minted for it through
// the TokenRequest API, read from a file as in a pod.
func (c *cluster) serviceAccount(t *testing.T, ns, name string) hooks.ClientFactory {
	t.Helper()
	var rules []map[string]any
	if err := yaml.Unmarshal([]byte(hooks.RequiredRBAC), &rules); err != nil {
		t.Fatalf("RequiredRBAC is not YAML: %v", err)
	}
	c.k.MustDo(http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts", map[string]any{"metadata": map[string]any{"name": name}}, nil)
	c.k.MustDo(http.MethodPost, "/apis/rbac.authorization.k8s.io/v1/namespaces/"+ns+"/roles", map[string]any{
		"metadata": map[string]any{"name": name}, "rules": rules,
	}, nil)
	c.k.MustDo(http.MethodPost, "/apis/rbac.authorization.k8s.io/v1/namespaces/"+ns+"/rolebindings", map[string]any{
		"metadata": map[string]any{"name": name},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": name, "namespace": ns}},
	}, nil)
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	c.k.MustDo(http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts/"+name+"/token", map[string]any{"spec": map[string]any{"expirationSeconds": 3600}}, &tr)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	factory := hooks.ClientFrom(&config.KubernetesAPI{Server: c.k.URL, CAFile: c.k.CAFile, TokenFile: tokenFile})

	// The RBAC authorizer learns about new bindings from a watch: give it a moment.
	client, err := factory()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := client.GetDeployment(t.Context(), ns, "a")
		if err == nil {
			return factory
		}
		if time.Now().After(deadline) {
			t.Fatalf("service account %s/%s cannot read deployments with RequiredRBAC: %v", ns, name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAroundWithoutHooksJustRestores(t *testing.T) {
	called := false
	err := hooks.Around(t.Context(), nil, nil, nil, func(context.Context) error { called = true; return nil })
	if err != nil || !called {
		t.Fatalf("Around = %v, called %v", err, called)
	}
	// No scaleDown: no client is made, so no cluster is needed.
	after, results := resultFile(t)
	err = hooks.Around(t.Context(), &config.RestoreHooks{After: [][]string{after}}, func() (*kube.Client, error) {
		return nil, errors.New("no cluster here")
	}, testLogger(t), func(context.Context) error { return nil })
	if err != nil || results() != "ok" {
		t.Fatalf("Around = %v, after saw %q", err, results())
	}
}
