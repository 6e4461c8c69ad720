package kubernetes

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source/kubernetes/kubetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

func TestResolverAgainstAPIServer(t *testing.T) {
	k := testenv.StartKube(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(k.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	c, err := newClients(&config.KubernetesAPI{Server: k.URL, CAFile: k.CAFile, TokenFile: tokenFile}, clk)
	if err != nil {
		t.Fatal(err)
	}
	r := c.resolver
	ctx := t.Context()

	for _, tc := range []struct {
		name       string
		gvk        schema.GroupVersionKind
		want       schema.GroupVersionResource
		namespaced bool
	}{
		{"core", schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true},
		{"lower-case kind", schema.GroupVersionKind{Version: "v1", Kind: "configmap"}, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true},
		{"cluster-scoped", schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false},
		{"group", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
		{"cluster-scoped group", schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
			schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, false},
		{"non-preferred version", schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "HorizontalPodAutoscaler"},
			schema.GroupVersionResource{Group: "autoscaling", Version: "v1", Resource: "horizontalpodautoscalers"}, true},
		{"no version: the preferred one", schema.GroupVersionKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"},
			schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, ok, err := r.resourceFor(ctx, tc.gvk)
			if err != nil || !ok || res.gvr != tc.want || res.namespaced != tc.namespaced {
				t.Fatalf("resourceFor(%v) = %+v, %v, %v", tc.gvk, res, ok, err)
			}
		})
	}
	if r.loads != 1 {
		t.Fatalf("%d discovery reads for lookups of served kinds, want 1 (the cache)", r.loads)
	}

	t.Run("listable at the preferred version", func(t *testing.T) {
		v, err := r.current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.failed) != 0 {
			t.Errorf("failed group versions: %v", v.failed)
		}
		l := v.listable()
		for id, gv := range map[string]string{
			"configmaps": "v1", "namespaces": "v1", "roles.rbac.authorization.k8s.io": "rbac.authorization.k8s.io/v1",
			"horizontalpodautoscalers.autoscaling": "autoscaling/v2", crdResource: "apiextensions.k8s.io/v1",
		} {
			if got := l[id].gvr.GroupVersion().String(); got != gv {
				t.Errorf("listable[%s] at %q, want %q", id, got, gv)
			}
		}
		// bindings can only be created; subresources are not resources.
		for _, id := range []string{"bindings", "pods/log", "deployments.apps/scale"} {
			if _, ok := l[id]; ok {
				t.Errorf("%s is listed as listable", id)
			}
		}
		if _, ok := v.preferred["bindings"]; !ok {
			t.Errorf("bindings missing from the preferred resources")
		}
	})

	gadget := schema.GroupVersionKind{Group: kubetest.Group, Version: "v1alpha1", Kind: "Gadget"}
	t.Run("a kind that is not served", func(t *testing.T) {
		if res, ok, err := r.resourceFor(ctx, gadget); ok || err != nil {
			t.Fatalf("resourceFor(%v) = %+v, %v, %v", gadget, res, ok, err)
		}
		if r.loads != 1 {
			t.Fatalf("a miss in a view younger than refreshInterval read discovery again (%d reads)", r.loads)
		}
	})

	t.Run("a CRD created after the first lookup", func(t *testing.T) {
		k.MustDo(http.MethodPost, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", kubetest.CRD("gadgets", "Gadget", "Namespaced"), nil)
		waitDiscovered(t, k, "/apis/"+kubetest.Group+"/v1alpha1", `"name":"gadgets"`)
		// Served now, but the view is as young as before: still a miss, without a read.
		if _, ok, err := r.resourceFor(ctx, gadget); ok || err != nil || r.loads != 1 {
			t.Fatalf("before refreshInterval: ok %v, err %v, %d reads", ok, err, r.loads)
		}
		clk.Advance(refreshInterval)
		res, ok, err := r.resourceFor(ctx, gadget)
		want := schema.GroupVersionResource{Group: kubetest.Group, Version: "v1alpha1", Resource: "gadgets"}
		if err != nil || !ok || res.gvr != want || !res.namespaced || !slices.Contains(res.verbs, "list") {
			t.Fatalf("after refreshInterval: %+v, %v, %v", res, ok, err)
		}
		if r.loads != 2 {
			t.Fatalf("%d discovery reads, want 2", r.loads)
		}
		v, err := r.current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := v.listable()["gadgets."+kubetest.Group]; !ok {
			t.Fatalf("gadgets.%s not listable after the refresh", kubetest.Group)
		}
	})

	t.Run("invalidate", func(t *testing.T) {
		before := r.loads
		r.invalidate()
		if _, ok, err := r.resourceFor(ctx, schema.GroupVersionKind{Version: "v1", Kind: "Secret"}); !ok || err != nil {
			t.Fatalf("Secret after invalidate: %v, %v", ok, err)
		}
		if r.loads != before+1 {
			t.Fatalf("%d reads after invalidate, want %d", r.loads, before+1)
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		bad := filepath.Join(dir, "bad-token")
		if err := os.WriteFile(bad, []byte("wrong"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := newClients(&config.KubernetesAPI{Server: k.URL, CAFile: k.CAFile, TokenFile: bad}, clk)
		if err != nil {
			t.Fatal(err)
		}
		_, ok, err := c.resolver.resourceFor(ctx, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
		if ok || !apierrors.IsUnauthorized(err) {
			t.Fatalf("resourceFor with a wrong token: %v, %v", ok, err)
		}
		if _, err := c.serverVersion(ctx); !apierrors.IsUnauthorized(err) {
			t.Fatalf("serverVersion with a wrong token: %v", err)
		}
	})

	t.Run("server version", func(t *testing.T) {
		info, err := c.serverVersion(ctx)
		if err != nil || info.GitVersion == "" || info.Major != "1" {
			t.Fatalf("serverVersion = %+v, %v", info, err)
		}
	})
}

// waitDiscovered waits until the discovery document at path holds want.
func waitDiscovered(t *testing.T, k *testenv.Kube, path, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		body, err := k.Do(context.Background(), http.MethodGet, path, nil, nil)
		if err == nil && strings.Contains(string(body), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not list %s: %v", path, want, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
