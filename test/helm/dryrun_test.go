package helm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Every object of every value set is accepted by a real kube-apiserver (the version the
// chart targets) in a server-side dry run with strict field validation — the API-server
// half of `kubectl apply --dry-run=server`, sent as plain REST calls: building kubectl
// would add minutes of compile time for nothing the REST call does not already check.
// Warnings (deprecated APIs, duplicate env names...) fail the test too. Then the RBAC the
// chart renders is created for real and SubjectAccessReviews show it grants what the
// restore and auto-restore need, and nothing beside.
func TestServerSideDryRun(t *testing.T) {
	helmBin(t)
	k := testenv.StartKube(t)
	installCRDs(t, k)
	resources := discover(t, k)

	sets := map[string][]object{}
	namespaces := []string{}
	for _, v := range valueSets {
		sets[v.name] = renderedObjects(t, v)
		for _, o := range sets[v.name] {
			if o.namespace != "" && !slices.Contains(namespaces, o.namespace) {
				namespaces = append(namespaces, o.namespace)
			}
		}
	}
	for _, ns := range namespaces {
		k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]string{"name": ns},
		}, nil)
	}
	for _, v := range valueSets {
		t.Run(v.name, func(t *testing.T) {
			for _, o := range sets[v.name] {
				path := collectionPath(t, resources, o)
				warnings, err := send(k, http.MethodPost, path+"?dryRun=All&fieldValidation=Strict", o.yaml)
				if err != nil {
					t.Errorf("%s: server-side dry run: %v", o, err)
				}
				for _, w := range warnings {
					t.Errorf("%s: API server warning: %s", o, w)
				}
			}
		})
	}
	// helm itself against the API server: install --dry-run=server renders with the
	// cluster's capabilities, validates against its OpenAPI schema and prints NOTES.txt.
	t.Run("helm-install", func(t *testing.T) {
		kubeconfig := writeKubeconfig(t, k)
		for _, v := range valueSets {
			args := append([]string{"install", releaseName, chartDir(), "--namespace", namespace, "--dry-run=server"}, v.valuesArgs()...)
			out, errOut, err := runHelmEnv(t, []string{"KUBECONFIG=" + kubeconfig}, args...)
			if err != nil {
				t.Errorf("%s: helm install --dry-run=server: %v\n%s", v.name, err, errOut)
				continue
			}
			if !strings.Contains(out, "NOTES:") || !strings.Contains(out, "docs/admin-guide.md") {
				t.Errorf("%s: no NOTES in helm's output:\n%s", v.name, out)
			}
			if restoring := strings.Contains(out, "A RESTORE JOB IS ENABLED"); restoring != v.restoring() {
				t.Errorf("%s: NOTES say a restore Job is enabled: %v, want %v", v.name, restoring, v.restoring())
			}
			if strings.Contains(out, "Backups are NOT suspended") {
				t.Errorf("%s: NOTES warn that backups run during a restore", v.name)
			}
		}
	})
	// (after helm-install: this creates the chart's Roles for real)
	t.Run("rbac", func(t *testing.T) { checkRBACGrants(t, k, resources, sets["restore"]) })
	t.Run("platform-rbac", func(t *testing.T) {
		checkPlatformRBACGrants(t, k, resources, sets["platform"], sets["platform-restore"])
	})
	// The auto-restore sidecar for the Vault chart, in a pod like the Vault chart's.
	t.Run("auto-restore-snippet", func(t *testing.T) {
		c, vols := autoRestoreSnippet(t)
		pod := corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "vault-0", Namespace: "vault"},
			Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{c},
				Containers:     []corev1.Container{{Name: "vault", Image: "hashicorp/vault:1.19.5"}},
				Volumes:        vols,
			},
		}
		doc, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		warnings, err := send(k, http.MethodPost, "/api/v1/namespaces/vault/pods?dryRun=All&fieldValidation=Strict", doc)
		if err != nil {
			t.Fatalf("the Vault chart snippet does not make a valid pod: %v", err)
		}
		for _, w := range warnings {
			t.Errorf("API server warning: %s", w)
		}
	})
	// The dry run would notice: a misplaced field is an error, for a built-in kind and for
	// the CRDs above.
	t.Run("strict", func(t *testing.T) {
		for _, o := range sets["agent"] {
			var bad []byte
			switch o.gvk.Kind {
			case "Deployment":
				bad = bytes.Replace(o.yaml, []byte("\n  replicas: 1"), []byte("\n  replicas: 1\n  replica: 1"), 1)
			case "PrometheusRule":
				bad = bytes.Replace(o.yaml, []byte("\n          for: "), []byte("\n          fro: "), 1)
			default:
				continue
			}
			if bytes.Equal(bad, o.yaml) {
				t.Fatalf("%s: could not plant a bad field", o)
			}
			_, err := send(k, http.MethodPost, collectionPath(t, resources, o)+"?dryRun=All&fieldValidation=Strict", bad)
			if err == nil || !strings.Contains(err.Error(), "unknown field") {
				t.Errorf("%s with an unknown field: want an unknown-field error, got %v", o, err)
			}
			t.Logf("%s with a planted field: %v", o.gvk.Kind, err)
		}
	})
}

func installCRDs(t *testing.T, k *testenv.Kube) {
	t.Helper()
	for _, doc := range strings.Split(monitoringCRDs, "\n---\n") {
		if _, err := send(k, http.MethodPost, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", []byte(doc)); err != nil {
			t.Fatalf("install CRD: %v", err)
		}
	}
	testenv.WaitFor(t, nil, 60*time.Second, "the monitoring CRDs to be served", func(ctx context.Context) error {
		var list apiResourceList
		if _, err := k.Do(ctx, http.MethodGet, "/apis/monitoring.coreos.com/v1", nil, &list); err != nil {
			return err
		}
		if len(list.Resources) < 2 {
			return fmt.Errorf("only %d resources served", len(list.Resources))
		}
		return nil
	})
}

type apiResourceList struct {
	GroupVersion string `json:"groupVersion"`
	Resources    []struct {
		Name       string `json:"name"`
		Kind       string `json:"kind"`
		Namespaced bool   `json:"namespaced"`
	} `json:"resources"`
}

// discover maps "group/version Kind" to the resource path segment, from the API server's
// own discovery documents (so no plural is guessed). Objects without a namespace are
// cluster-scoped (parseObjects checks which kinds may be).
func discover(t *testing.T, k *testenv.Kube) map[string]string {
	t.Helper()
	var groups struct {
		Groups []struct {
			Versions []struct {
				GroupVersion string `json:"groupVersion"`
			} `json:"versions"`
		} `json:"groups"`
	}
	k.MustDo(http.MethodGet, "/apis", nil, &groups)
	paths := []string{"/api/v1"}
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			paths = append(paths, "/apis/"+v.GroupVersion)
		}
	}
	out := map[string]string{}
	for _, p := range paths {
		var list apiResourceList
		k.MustDo(http.MethodGet, p, nil, &list)
		for _, r := range list.Resources {
			if !strings.Contains(r.Name, "/") {
				out[list.GroupVersion+" "+r.Kind] = r.Name
			}
		}
	}
	return out
}

func collectionPath(t *testing.T, resources map[string]string, o object) string {
	t.Helper()
	gv := o.gvk.GroupVersion().String()
	res, ok := resources[gv+" "+o.gvk.Kind]
	if !ok {
		t.Fatalf("%s: the API server does not serve %s %s", o, gv, o.gvk.Kind)
	}
	prefix := "/apis/" + gv
	if o.gvk.Group == "" {
		prefix = "/api/" + gv
	}
	if o.namespace == "" {
		return prefix + "/" + res
	}
	return fmt.Sprintf("%s/namespaces/%s/%s", prefix, o.namespace, res)
}

// send sends a YAML (or JSON) document as JSON with the admin token and returns the
// API server's warnings.
func send(k *testenv.Kube, method, path string, doc []byte) ([]string, error) {
	body, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, k.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.HTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var status struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &status)
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, status.Message)
	}
	return resp.Header.Values("Warning"), nil
}

// checkRBACGrants creates the chart's Roles and RoleBindings for real and asks the API
// server what the bound service accounts may do.
func checkRBACGrants(t *testing.T, k *testenv.Kube, resources map[string]string, objs []object) {
	for _, o := range objs {
		if o.gvk.Kind == "Role" || o.gvk.Kind == "RoleBinding" {
			if _, err := send(k, http.MethodPost, collectionPath(t, resources, o), o.yaml); err != nil {
				t.Fatalf("create %s: %v", o, err)
			}
		}
	}
	lifeboatSA := "system:serviceaccount:" + namespace + ":" + releaseName
	vaultSA := "system:serviceaccount:vault:vault"
	autoRestoreSA := "system:serviceaccount:vault:" + releaseName + "-auto-restore"
	var checks []accessCheck
	for _, c := range []struct {
		user, verb, ns, resource, sub, name string
		allowed                             bool
	}{
		// The metadata DB restore scales the named Deployments and nothing else.
		{lifeboatSA, "get", "argo", "deployments", "", "workflow-controller", true},
		{lifeboatSA, "patch", "argo", "deployments", "", "argo-server", true},
		{lifeboatSA, "patch", "argo", "deployments", "scale", "workflow-controller", true},
		{lifeboatSA, "get", "argo", "deployments", "scale", "argo-server", true},
		{lifeboatSA, "list", "argo", "pods", "", "", true},
		{lifeboatSA, "patch", "argo", "deployments", "scale", "some-other-app", false},
		{lifeboatSA, "update", "argo", "deployments", "", "workflow-controller", false},
		{lifeboatSA, "delete", "argo", "deployments", "", "workflow-controller", false},
		{lifeboatSA, "list", "argo", "deployments", "", "", false},
		{lifeboatSA, "get", "argo", "secrets", "", "argo-postgres", false},
		{lifeboatSA, "patch", namespace, "deployments", "scale", "workflow-controller", false},
		{lifeboatSA, "get", "vault-recovery", "secrets", "", "vault-unseal-keys", false},
		// Auto-restore (its own account, whose token only the sidecar mounts) reads the one
		// unseal-keys Secret, never writes or lists it; the Vault pods' account cannot.
		{autoRestoreSA, "get", "vault-recovery", "secrets", "", "vault-unseal-keys", true},
		{autoRestoreSA, "get", "vault-recovery", "secrets", "", "other-secret", false},
		{autoRestoreSA, "list", "vault-recovery", "secrets", "", "", false},
		{autoRestoreSA, "update", "vault-recovery", "secrets", "", "vault-unseal-keys", false},
		{autoRestoreSA, "patch", "vault-recovery", "secrets", "", "vault-unseal-keys", false},
		{autoRestoreSA, "get", "vault", "secrets", "", "vault-unseal-keys", false},
		{vaultSA, "get", "vault-recovery", "secrets", "", "vault-unseal-keys", false},
	} {
		checks = append(checks, accessCheck{c.user, c.verb, c.ns, c.resource, c.sub, c.name, c.allowed})
	}
	checkAccess(t, k, checks)
}

// accessCheck is one SubjectAccessReview and the answer the chart's RBAC should give.
type accessCheck struct {
	user, verb, ns, resource, sub, name string
	allowed                             bool
}

func (c accessCheck) String() string {
	return fmt.Sprintf("%s %s %s %s/%s (%s)", c.user, c.verb, c.resource, c.ns, c.name, c.sub)
}

// checkAccess asks the API server each check. The RBAC authorizer answers from an
// informer cache, so Roles created a moment ago may not be seen yet: the grants are
// awaited first (each must turn allowed within the deadline), and only then are the
// denials asked, when a "denied" can no longer mean "not synced yet".
func checkAccess(t *testing.T, k *testenv.Kube, checks []accessCheck) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range checks {
		if !c.allowed {
			continue
		}
		for !accessReview(t, k, c.user, c.verb, c.ns, c.resource, c.sub, c.name) {
			if time.Now().After(deadline) {
				t.Errorf("%s: denied, want allowed (waited 30s for the RBAC cache)", c)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, c := range checks {
		if !c.allowed && accessReview(t, k, c.user, c.verb, c.ns, c.resource, c.sub, c.name) {
			t.Errorf("%s: allowed, want denied", c)
		}
	}
}

func accessReview(t *testing.T, k *testenv.Kube, user, verb, ns, resource, sub, name string) bool {
	t.Helper()
	// resource[.group], as lifeboat's config writes it.
	resource, group, _ := strings.Cut(resource, ".")
	if group == "" && strings.HasPrefix(resource, "deployments") {
		group = "apps"
	}
	saNS := strings.Split(user, ":")[2]
	review := map[string]any{
		"apiVersion": "authorization.k8s.io/v1",
		"kind":       "SubjectAccessReview",
		"spec": map[string]any{
			"user":   user,
			"groups": []string{"system:serviceaccounts", "system:serviceaccounts:" + saNS, "system:authenticated"},
			"resourceAttributes": map[string]string{
				"namespace": ns, "verb": verb, "group": group, "resource": resource, "subresource": sub, "name": name,
			},
		},
	}
	var out struct {
		Status struct {
			Allowed bool `json:"allowed"`
		} `json:"status"`
	}
	k.MustDo(http.MethodPost, "/apis/authorization.k8s.io/v1/subjectaccessreviews", review, &out)
	return out.Status.Allowed
}

// writeKubeconfig points helm at the test API server as its admin.
func writeKubeconfig(t *testing.T, k *testenv.Kube) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(k.KubeconfigYAML(namespace)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkPlatformRBACGrants creates the platform configuration's RBAC of the steady state,
// then the restore's, and asks the API server what each service account may do: the
// backups read exactly what they list, only the restore (while enabled) and the drills
// write.
func checkPlatformRBACGrants(t *testing.T, k *testenv.Kube, resources map[string]string, steady, restoring []object) {
	create := func(objs []object) {
		for _, o := range objs {
			switch o.gvk.Kind {
			case "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			default:
				continue
			}
			_, err := send(k, http.MethodPost, collectionPath(t, resources, o), o.yaml)
			if err != nil && !strings.Contains(err.Error(), "409 Conflict") {
				t.Fatalf("create %s: %v", o, err)
			}
		}
	}
	create(steady)
	create(restoring)
	sa := func(name string) string { return "system:serviceaccount:" + namespace + ":" + name }
	backup, restore, drill := sa(releaseName+"-platform-config"), sa(releaseName+"-platform-config-restore"), sa(releaseName+"-platform-config-drill")
	var checks []accessCheck
	for _, c := range []struct {
		user, verb, ns, resource, name string
		allowed                        bool
	}{
		// Backups: list what is listed, in argo; get the named cluster objects.
		{backup, "list", "argo", "secrets", "", true},
		{backup, "list", "argo", "configmaps", "", true},
		{backup, "list", "argo", "rolebindings.rbac.authorization.k8s.io", "", true},
		{backup, "list", "argo", "workflowtemplates.argoproj.io", "", true},
		{backup, "list", "", "clusterworkflowtemplates.argoproj.io", "", true},
		{backup, "list", "", "customresourcedefinitions.apiextensions.k8s.io", "", true},
		{backup, "get", "", "namespaces", "argo", true},
		{backup, "get", "", "clusterroles.rbac.authorization.k8s.io", "argo-aggregate-to-view", true},
		{backup, "get", "", "clusterroles.rbac.authorization.k8s.io", "cluster-admin", false},
		{backup, "get", "", "namespaces", "kube-system", false},
		{backup, "list", "kube-system", "secrets", "", false},
		{backup, "list", "argo", "pods", "", false},
		{backup, "get", "argo", "secrets", "argo-postgres", false},
		{backup, "create", "argo", "configmaps", "", false},
		{backup, "patch", "argo", "secrets", "x", false},
		{backup, "patch", "", "customresourcedefinitions.apiextensions.k8s.io", "x", false},
		// The restore writes the backed-up kinds, and nothing it does not restore.
		{restore, "patch", "argo", "configmaps", "workflow-controller-configmap", true},
		{restore, "create", "argo", "secrets", "", true},
		{restore, "patch", "argo", "workflowtemplates.argoproj.io", "x", true},
		{restore, "patch", "", "customresourcedefinitions.apiextensions.k8s.io", "workflows.argoproj.io", true},
		{restore, "create", "", "namespaces", "", true},
		{restore, "patch", "", "namespaces", "argo", true},
		{restore, "patch", "", "namespaces", "kube-system", false},
		{restore, "bind", "argo", "clusterroles.rbac.authorization.k8s.io", "argo-aggregate-to-view", true},
		{restore, "delete", "argo", "secrets", "x", false},
		{restore, "list", "argo", "secrets", "", false},
		{restore, "patch", "argo", "deployments", "workflow-controller", false},
		{restore, "create", "argo", "pods", "", false},
		// The drill: its scratch namespace, and dry-runs (RBAC cannot tell them from writes).
		{drill, "create", "", "namespaces", "", true},
		{drill, "delete", "", "namespaces", "lifeboat-drill-20261123-101500", true},
		{drill, "patch", "lifeboat-drill-20261123-101500", "configmaps", "x", true},
		{drill, "list", "argo", "secrets", "", false},
		{drill, "create", "argo", "pods", "", false},
	} {
		checks = append(checks, accessCheck{c.user, c.verb, c.ns, c.resource, "", c.name, c.allowed})
	}
	checkAccess(t, k, checks)
}
