package helm

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/lifeboat-backup/lifeboat/internal/source/kubernetes/kubetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// The platform configuration's CronJobs and restore Job, run like e2e_test.go runs the
// others, against a real kube-apiserver holding an Argo-like platform, each as the service
// account the chart gives it, with only the RBAC the chart renders: the backup commits
// with its read-only account and fails (naming what was refused) without its Role; the
// restore Job brings a deleted namespace back with its account; the drill dry-runs with
// its own. This is what shows the chart's least privilege is also enough.
func TestPlatformConfigJobsRunWithChartRBAC(t *testing.T) {
	helmBin(t)
	bin := builtLifeboat(t)
	k := testenv.StartKube(t)
	kubetest.InstallCRDs(t, k)
	kubetest.Populate(t, k, "argo")
	kubetest.PopulateCluster(t, k)
	k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]string{"name": namespace}}, nil)
	resources := discover(t, k)

	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	writeValues(t, values, `
vault:
  backup: {enabled: false}
platformConfig:
  namespaces: [argo]
  clusterResources:
    - {resource: clusterroles.rbac.authorization.k8s.io, names: [argo-aggregate-to-view]}
  backup: {enabled: true}
  drill: {enabled: true}
destinations:
  - name: pvc
    type: file
    persistence: {size: 1Gi}
`)
	// The volume outlives the pods (and the subtests that run them).
	claims := map[string]string{releaseName + "-dest-pvc": t.TempDir()}
	objs := parseObjects(t, render(t, []string{values}))
	applyRBAC(t, k, resources, objs)

	// run runs a pod of the chart as its service account, through the in-cluster API the
	// rendered config uses: the pod's token is the one thing simulated (a TokenRequest
	// for the pod's account, written where the config is told to read it).
	run := func(t *testing.T, objs []object, kind, component string) result {
		t.Helper()
		pod := podOf(t, objs, kind, component)
		fs := newPodFS(t, objs, pod, nil, claims)
		token := serviceAccountToken(t, k, pod.Spec.ServiceAccountName)
		pointAtAPI(t, fs, k, token)
		return fs.run(t, bin, 3*time.Minute)
	}

	var id string
	t.Run("backup", func(t *testing.T) {
		res := run(t, objs, "CronJob/", "backup-platform-config")
		if res.code != 0 {
			t.Fatalf("backup as the chart's read-only account: %s", res)
		}
		id = committedInDir(t, claims["lifeboat-dest-pvc"], "platform-config")
	})
	if id == "" {
		t.FailNow()
	}
	t.Run("drill", func(t *testing.T) {
		res := run(t, objs, "CronJob/", "drill-platform-config")
		if res.code != 0 || !strings.Contains(res.stdout, "into scratch namespace lifeboat-drill-") || strings.Contains(res.stdout, "refused") {
			t.Fatalf("drill as the chart's drill account: want every object dry-run into the scratch namespace: %s", res)
		}
		t.Logf("drill:\n%s", res.stdout)
	})
	t.Run("backup without its Role", func(t *testing.T) {
		name := releaseName + "-platform-config-read"
		k.MustDo(http.MethodDelete, "/apis/rbac.authorization.k8s.io/v1/namespaces/argo/rolebindings/"+name, nil, nil)
		defer applyRBAC(t, k, resources, objs)
		res := run(t, objs, "CronJob/", "backup-platform-config")
		if res.code == 0 || !strings.Contains(res.stderr, "in namespace argo") || !strings.Contains(res.stderr, `"list"`) {
			t.Fatalf("want the backup to fail naming the refused list in namespace argo: %s", res)
		}
	})

	// Lose the namespace, then restore it with the restore Job, as
	// lifeboat-platform-restore.yaml does it.
	kubetest.DeleteNamespace(t, k, "argo")
	restoreValues := filepath.Join(dir, "restore.yaml")
	writeValues(t, restoreValues, "cronjob: {suspend: true}\nplatformConfig:\n  restore: {enabled: true, resources: %s}\n", id)
	restoreObjs := parseObjects(t, render(t, []string{values, restoreValues}))
	applyRBAC(t, k, resources, restoreObjs)
	t.Run("restore", func(t *testing.T) {
		res := run(t, restoreObjs, "Job/", "restore-platform-config")
		if res.code != 0 || !strings.Contains(res.stdout, "to create") {
			t.Fatalf("restore as the chart's restore account: %s", res)
		}
		for _, p := range []string{
			"/api/v1/namespaces/argo/configmaps/workflow-controller-configmap",
			"/api/v1/namespaces/argo/secrets/artifact-creds",
			"/apis/rbac.authorization.k8s.io/v1/namespaces/argo/rolebindings/workflow",
			"/apis/argoproj.io/v1alpha1/namespaces/argo/workflowtemplates/hello",
		} {
			if _, err := k.Do(t.Context(), http.MethodGet, p, nil, nil); err != nil {
				t.Errorf("after the restore Job: %s: %v", p, err)
			}
		}
	})
}

// applyRBAC creates the chart's ServiceAccounts and RBAC objects as the cluster admin
// (what helm install does); objects that exist already are left as they are.
func applyRBAC(t *testing.T, k *testenv.Kube, resources map[string]string, objs []object) {
	t.Helper()
	for _, o := range objs {
		switch o.gvk.Kind {
		case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
		default:
			continue
		}
		if _, err := send(k, http.MethodPost, collectionPath(t, resources, o), o.yaml); err != nil && !strings.Contains(err.Error(), "409 Conflict") {
			t.Fatalf("create %s: %v", o, err)
		}
	}
}

// serviceAccountToken asks the API server for a token of a service account of the
// release's namespace, as the kubelet does for a pod.
func serviceAccountToken(t *testing.T, k *testenv.Kube, name string) string {
	t.Helper()
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	k.MustDo(http.MethodPost, "/api/v1/namespaces/"+namespace+"/serviceaccounts/"+name+"/token", map[string]any{
		"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
		"spec": map[string]any{"expirationSeconds": 3600}}, &tr)
	if tr.Status.Token == "" {
		t.Fatalf("no token for service account %s", name)
	}
	return tr.Status.Token
}

// pointAtAPI makes the pod's config reach the test API server with token instead of the
// in-cluster defaults (the server, CA and token a pod finds by itself).
func pointAtAPI(t *testing.T, fs *podFS, k *testenv.Kube, token string) {
	t.Helper()
	tokenFile := filepath.Join(fs.root, "sa-token")
	fs.write(t, tokenFile, token)
	path := fs.hostPath("/etc/lifeboat/config/lifeboat.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range cfg["sources"].([]any) {
		src := s.(map[string]any)
		if kc, ok := src["kubernetes"].(map[string]any); ok {
			if _, set := kc["api"]; set {
				t.Fatal("the chart's config sets kubernetes.api; in a pod the in-cluster API is the default")
			}
			kc["api"] = map[string]any{"server": k.URL, "caFile": k.CAFile, "tokenFile": tokenFile}
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the config has %d kubernetes sources, want 1", n)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o440); err != nil {
		t.Fatal(err)
	}
}
