// Package kubetest fills a test kube-apiserver (testenv.StartKube) with an Argo-like
// platform configuration: CRDs written for the tests (WorkflowTemplate, CronWorkflow,
// ClusterWorkflowTemplate) and objects in namespaces, and gives tokens of service
// accounts with chosen permissions.
package kubetest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Group is the fixture's API group.
const Group = "argoproj.io"

// CRD names, as the API server names them.
var CRDs = []string{"clusterworkflowtemplates.argoproj.io", "cronworkflows.argoproj.io", "workflowtemplates.argoproj.io"}

// SecretValue is the clear value of the fixture's Secret in namespace ns: it must never
// appear in an encrypted destination.
func SecretValue(ns string) string { return "s3cr3t-artifact-key-of-" + ns }

// InstallCRDs creates the Argo-like CRDs and waits until they are established.
func InstallCRDs(t testing.TB, k *testenv.Kube) {
	t.Helper()
	for _, c := range []struct{ plural, kind, scope string }{
		{"workflowtemplates", "WorkflowTemplate", "Namespaced"},
		{"cronworkflows", "CronWorkflow", "Namespaced"},
		{"clusterworkflowtemplates", "ClusterWorkflowTemplate", "Cluster"},
	} {
		k.MustDo(http.MethodPost, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD(c.plural, c.kind, c.scope), nil)
	}
	WaitCRDs(t, k)
}

// CRD is a minimal CRD of the fixture's group that keeps any spec.
func CRD(plural, kind, scope string) map[string]any {
	return map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": plural + "." + Group},
		"spec": map[string]any{
			"group": Group, "scope": scope,
			"names": map[string]any{"plural": plural, "singular": strings.ToLower(kind), "kind": kind, "listKind": kind + "List"},
			"versions": []any{map[string]any{
				"name": "v1alpha1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}
}

// WaitCRDs waits until the fixture's resources are served.
func WaitCRDs(t testing.TB, k *testenv.Kube) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, p := range []string{"workflowtemplates", "cronworkflows", "clusterworkflowtemplates"} {
		for {
			_, err := k.Do(context.Background(), http.MethodGet, "/apis/argoproj.io/v1alpha1/"+p, nil, nil)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s not served: %v", p, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// Populate creates namespace ns with a platform's configuration in it, plus objects the
// default excludes leave out (a Helm release Secret, kube-root-ca.crt).
func Populate(t testing.TB, k *testenv.Kube, ns string) {
	t.Helper()
	k.MustDo(http.MethodPost, "/api/v1/namespaces", obj("v1", "Namespace", "", ns, map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"platform": "workflows"}}}), nil)
	core := "/api/v1/namespaces/" + ns
	k.MustDo(http.MethodPost, core+"/configmaps", obj("v1", "ConfigMap", ns, "workflow-controller-configmap", map[string]any{
		"data": map[string]any{"config": "artifactRepository:\n  s3:\n    bucket: artifacts-" + ns + "\n"},
		"metadata": map[string]any{"annotations": map[string]any{
			"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"ConfigMap"}`, "team": ns}},
	}), nil)
	k.MustDo(http.MethodPost, core+"/configmaps", obj("v1", "ConfigMap", ns, "kube-root-ca.crt", map[string]any{
		"data": map[string]any{"ca.crt": "cluster CA"}}), nil)
	k.MustDo(http.MethodPost, core+"/secrets", obj("v1", "Secret", ns, "artifact-creds", map[string]any{
		"stringData": map[string]any{"secretKey": SecretValue(ns)}}), nil)
	k.MustDo(http.MethodPost, core+"/secrets", obj("v1", "Secret", ns, "sh.helm.release.v1.argo.v1", map[string]any{
		"type": "helm.sh/release.v1", "stringData": map[string]any{"release": "helm data"}}), nil)
	k.MustDo(http.MethodPost, core+"/serviceaccounts", obj("v1", "ServiceAccount", ns, "argo-workflow", nil), nil)
	rbac := "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns
	k.MustDo(http.MethodPost, rbac+"/roles", obj("rbac.authorization.k8s.io/v1", "Role", ns, "workflow", map[string]any{
		"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get", "watch", "patch"}}}}), nil)
	k.MustDo(http.MethodPost, rbac+"/rolebindings", obj("rbac.authorization.k8s.io/v1", "RoleBinding", ns, "workflow", map[string]any{
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "workflow"},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "argo-workflow", "namespace": ns}}}), nil)
	argo := "/apis/argoproj.io/v1alpha1/namespaces/" + ns
	k.MustDo(http.MethodPost, argo+"/workflowtemplates", obj("argoproj.io/v1alpha1", "WorkflowTemplate", ns, "hello", map[string]any{
		"spec": map[string]any{"entrypoint": "main", "templates": []any{map[string]any{
			"name": "main", "container": map[string]any{"image": "alpine:3.20", "command": []any{"echo", "hello " + ns}}}}}}), nil)
	k.MustDo(http.MethodPost, argo+"/cronworkflows", obj("argoproj.io/v1alpha1", "CronWorkflow", ns, "nightly", map[string]any{
		"spec": map[string]any{"schedule": "0 2 * * *", "workflowSpec": map[string]any{
			"workflowTemplateRef": map[string]any{"name": "hello"}}}}), nil)
}

// PopulateCluster creates a ClusterWorkflowTemplate and a ClusterRole.
func PopulateCluster(t testing.TB, k *testenv.Kube) {
	t.Helper()
	k.MustDo(http.MethodPost, "/apis/argoproj.io/v1alpha1/clusterworkflowtemplates", obj("argoproj.io/v1alpha1", "ClusterWorkflowTemplate", "", "cluster-hello", map[string]any{
		"spec": map[string]any{"entrypoint": "main", "templates": []any{map[string]any{"name": "main", "suspend": map[string]any{}}}}}), nil)
	k.MustDo(http.MethodPost, "/apis/rbac.authorization.k8s.io/v1/clusterroles", obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "argo-aggregate-to-view", map[string]any{
		"rules": []any{map[string]any{"apiGroups": []any{"argoproj.io"}, "resources": []any{"workflows"}, "verbs": []any{"get", "list"}}}}), nil)
}

// DeleteNamespace removes a namespace with everything in it. No controller-manager runs
// in the test cluster, so this does the namespace controller's work: delete each object,
// then finalize the namespace.
func DeleteNamespace(t testing.TB, k *testenv.Kube, ns string) {
	t.Helper()
	for _, p := range []string{
		"/api/v1/namespaces/" + ns + "/configmaps", "/api/v1/namespaces/" + ns + "/secrets",
		"/api/v1/namespaces/" + ns + "/serviceaccounts",
		"/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns + "/roles",
		"/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns + "/rolebindings",
	} {
		k.MustDo(http.MethodDelete, p, nil, nil)
	}
	for _, p := range []string{"workflowtemplates", "cronworkflows"} {
		// The CRDs may be gone already, and their objects with them.
		_, _ = k.Do(context.Background(), http.MethodDelete, "/apis/argoproj.io/v1alpha1/namespaces/"+ns+"/"+p, nil, nil)
	}
	k.MustDo(http.MethodDelete, "/api/v1/namespaces/"+ns, nil, nil)
	var nsObj map[string]any
	k.MustDo(http.MethodGet, "/api/v1/namespaces/"+ns, nil, &nsObj)
	nsObj["spec"] = map[string]any{"finalizers": []any{}}
	k.MustDo(http.MethodPut, "/api/v1/namespaces/"+ns+"/finalize", nsObj, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := k.Do(context.Background(), http.MethodGet, "/api/v1/namespaces/"+ns, nil, nil); err != nil && strings.Contains(err.Error(), "404") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s still there after finalizing", ns)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// DeleteCRDs deletes the fixture's CRDs (and with them every custom resource) and waits
// until they are gone.
func DeleteCRDs(t testing.TB, k *testenv.Kube) {
	t.Helper()
	for _, c := range CRDs {
		k.MustDo(http.MethodDelete, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+c, nil, nil)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range CRDs {
		for {
			_, err := k.Do(context.Background(), http.MethodGet, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+c, nil, nil)
			if err != nil && strings.Contains(err.Error(), "404") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s not deleted: %v", c, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// ServiceAccountToken creates service account name in namespace default with a
// ClusterRole of rules bound to it, and returns a token for it.
func ServiceAccountToken(t testing.TB, k *testenv.Kube, name string, rules []any) string {
	t.Helper()
	k.MustDo(http.MethodPost, "/api/v1/namespaces/default/serviceaccounts", obj("v1", "ServiceAccount", "default", name, nil), nil)
	k.MustDo(http.MethodPost, "/apis/rbac.authorization.k8s.io/v1/clusterroles", obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", name, map[string]any{"rules": rules}), nil)
	k.MustDo(http.MethodPost, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", name, map[string]any{
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": name, "namespace": "default"}}}), nil)
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	k.MustDo(http.MethodPost, "/api/v1/namespaces/default/serviceaccounts/"+name+"/token", map[string]any{
		"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
		"spec": map[string]any{"expirationSeconds": 3600}}, &tr)
	if tr.Status.Token == "" {
		t.Fatalf("no token for service account %s", name)
	}
	return tr.Status.Token
}

// ReadOnlyRules allow reading everything a default kubernetes source backs up, except
// that secretVerbs replaces the verbs on Secrets.
func ReadOnlyRules(secretVerbs ...string) []any {
	r := func(group string, verbs []string, res ...string) any {
		return map[string]any{"apiGroups": []any{group}, "resources": toAny(res), "verbs": toAny(verbs)}
	}
	read := []string{"get", "list"}
	return []any{
		r("", read, "namespaces", "configmaps", "serviceaccounts"),
		r("", secretVerbs, "secrets"),
		r("rbac.authorization.k8s.io", read, "roles", "rolebindings", "clusterroles", "clusterrolebindings"),
		r("argoproj.io", read, "*"),
		r("apiextensions.k8s.io", read, "customresourcedefinitions"),
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func obj(apiVersion, kind, ns, name string, extra map[string]any) map[string]any {
	md := map[string]any{"name": name}
	if ns != "" {
		md["namespace"] = ns
	}
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": md}
	for k, v := range extra {
		if k == "metadata" {
			for mk, mv := range v.(map[string]any) {
				md[mk] = mv
			}
			continue
		}
		o[k] = v
	}
	return o
}

// Config is a kubernetes source's settings block (YAML) reaching k with a token file.
func Config(k *testenv.Kube, tokenFile string, namespaces ...string) string {
	return fmt.Sprintf(`api: {server: %q, caFile: %q, tokenFile: %q}
namespaces: [%s]
clusterResources:
  - resource: clusterroles.rbac.authorization.k8s.io
    names: [argo-aggregate-to-view]
`, k.URL, k.CAFile, tokenFile, strings.Join(namespaces, ", "))
}
