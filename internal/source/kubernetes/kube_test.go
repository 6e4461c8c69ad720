package kubernetes_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/source/kubernetes"
	"github.com/lifeboat-backup/lifeboat/internal/source/kubernetes/kubetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

type cluster struct {
	k         *testenv.Kube
	tokenFile string
}

func startCluster(t *testing.T, namespaces ...string) *cluster {
	t.Helper()
	k := testenv.StartKube(t)
	kubetest.InstallCRDs(t, k)
	for _, ns := range namespaces {
		kubetest.Populate(t, k, ns)
	}
	kubetest.PopulateCluster(t, k)
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte(k.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cluster{k: k, tokenFile: tok}
}

func (c *cluster) source(t *testing.T, tokenFile string, namespaces ...string) *config.Source {
	t.Helper()
	cfg, err := config.Parse([]byte("sources:\n  - name: platform\n    kind: kubernetes\n    kubernetes:\n" +
		indent(kubetest.Config(c.k, tokenFile, namespaces...), "      ") +
		"destinations: [{name: local, kind: file, file: {path: /tmp/unused}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	return &cfg.Sources[0]
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

// backup runs one backup of src and returns the archive and the manifest Finish filled.
func backup(t *testing.T, src *config.Source) ([]byte, *catalog.Manifest) {
	t.Helper()
	s, err := kubernetes.Kind{}.NewSource(src)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(a.Body)
	if err != nil {
		t.Fatal(err)
	}
	if a.Ext != "k8s.tar" || !a.Compress {
		t.Errorf("artifact ext %q compress %v", a.Ext, a.Compress)
	}
	if err := a.Inspect(bytes.NewReader(data)); err != nil {
		t.Fatalf("inspect: %v", err)
	}
	m := &catalog.Manifest{}
	if err := a.Finish(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	return data, m
}

func backupOf(data []byte, m *catalog.Manifest) *source.Backup {
	return &source.Backup{Label: "test backup", Manifest: m, Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

func restore(t *testing.T, src *config.Source, o source.RestoreOptions, b *source.Backup) string {
	t.Helper()
	var out bytes.Buffer
	r, err := kubernetes.Kind{}.Restore(src, o, source.Env{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(t.Context(), b); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	checks, err := r.Run(t.Context(), b)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if err := source.FailedChecks(checks); err != nil || len(checks) == 0 {
		t.Fatalf("checks %v: %v", checks, err)
	}
	return out.String()
}

func (c *cluster) get(t *testing.T, path string) map[string]any {
	t.Helper()
	var o map[string]any
	c.k.MustDo(http.MethodGet, path, nil, &o)
	return o
}

func secretValue(t *testing.T, c *cluster, ns string) string {
	t.Helper()
	s := c.get(t, "/api/v1/namespaces/"+ns+"/secrets/artifact-creds")
	v, err := base64.StdEncoding.DecodeString(s["data"].(map[string]any)["secretKey"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func specOf(t *testing.T, c *cluster, path string) string {
	t.Helper()
	data, _ := json.Marshal(c.get(t, path)["spec"])
	return string(data)
}

func TestBackupDeleteRestore(t *testing.T) {
	c := startCluster(t, "argo", "team-a")
	src := c.source(t, c.tokenFile, "argo", "team-a")
	// Two per page: the three CRDs, the two Secrets of each namespace (one excluded) and
	// the namespaces' ConfigMaps all come in more than one page.
	t.Cleanup(kubernetes.SetPageSize(2))

	first, m := backup(t, src)
	second, _ := backup(t, src)
	if !bytes.Equal(first, second) {
		t.Fatal("two backups of an unchanged cluster differ")
	}
	names := archiveNames(t, first)
	for _, want := range []string{
		"apiextensions.k8s.io/CustomResourceDefinition/_cluster/workflowtemplates.argoproj.io.yaml",
		"argoproj.io/ClusterWorkflowTemplate/_cluster/cluster-hello.yaml",
		"argoproj.io/CronWorkflow/team-a/nightly.yaml",
		"argoproj.io/WorkflowTemplate/argo/hello.yaml",
		"core/ConfigMap/argo/workflow-controller-configmap.yaml",
		"core/Namespace/_cluster/team-a.yaml",
		"core/Secret/argo/artifact-creds.yaml",
		"core/ServiceAccount/argo/argo-workflow.yaml",
		"rbac.authorization.k8s.io/ClusterRole/_cluster/argo-aggregate-to-view.yaml",
		"rbac.authorization.k8s.io/RoleBinding/team-a/workflow.yaml",
	} {
		if !strings.Contains(names, want+"\n") {
			t.Errorf("archive lacks %s; it holds:\n%s", want, names)
		}
	}
	for _, never := range []string{"kube-root-ca.crt", "sh.helm.release"} {
		if strings.Contains(names, never) {
			t.Errorf("archive holds excluded %s:\n%s", never, names)
		}
	}
	if bytes.Contains(first, []byte("last-applied-configuration")) || bytes.Contains(first, []byte("resourceVersion")) {
		t.Error("archive holds fields the cleaning removes")
	}
	if k := m.Kubernetes; k == nil || k.ServerVersion == "" || k.Total() != strings.Count(names, "\n") {
		t.Fatalf("manifest info %+v for %d objects", m.Kubernetes, strings.Count(names, "\n"))
	}
	wantCount := catalog.KubernetesCount{Group: "argoproj.io", Kind: "WorkflowTemplate", Namespace: "team-a", Count: 1}
	if !containsCount(m.Kubernetes.Objects, wantCount) {
		t.Errorf("manifest counts %+v lack %+v", m.Kubernetes.Objects, wantCount)
	}

	wtSpec := specOf(t, c, "/apis/argoproj.io/v1alpha1/namespaces/argo/workflowtemplates/hello")
	kubetest.DeleteCRDs(t, c.k)
	kubetest.DeleteNamespace(t, c.k, "argo")
	kubetest.DeleteNamespace(t, c.k, "team-a")

	out := restore(t, src, source.RestoreOptions{}, backupOf(first, m))
	for _, want := range []string{
		"  create    WorkflowTemplate.argoproj.io argo/hello\n",
		"  create    CustomResourceDefinition.apiextensions.k8s.io/workflowtemplates.argoproj.io\n",
		"  create    Secret team-a/artifact-creds\n",
		"  unchanged ClusterRole.rbac.authorization.k8s.io/argo-aggregate-to-view\n",
		"applying CRDs and namespaces",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("restore output lacks %q:\n%s", want, out)
		}
	}
	// Dependency order: the CRD before the namespaces' Secrets before the templates.
	if i, j, k := strings.Index(out, "applied CustomResourceDefinition"), strings.Index(out, "applied Secret"), strings.Index(out, "applied WorkflowTemplate"); !(i < j && j < k) {
		t.Errorf("apply order wrong:\n%s", out)
	}
	for _, ns := range []string{"argo", "team-a"} {
		if v := secretValue(t, c, ns); v != kubetest.SecretValue(ns) {
			t.Errorf("secret in %s = %q", ns, v)
		}
	}
	if got := specOf(t, c, "/apis/argoproj.io/v1alpha1/namespaces/argo/workflowtemplates/hello"); got != wtSpec {
		t.Errorf("restored WorkflowTemplate spec %s, want %s", got, wtSpec)
	}
	c.get(t, "/apis/argoproj.io/v1alpha1/clusterworkflowtemplates/cluster-hello")
	c.get(t, "/apis/argoproj.io/v1alpha1/namespaces/team-a/cronworkflows/nightly")

	// After the restore the same backup changes nothing, and a new backup is the same.
	again := restore(t, src, source.RestoreOptions{}, backupOf(first, m))
	if strings.Contains(again, "  create ") || strings.Contains(again, "  update ") {
		t.Errorf("second restore would still change something:\n%s", again)
	}
	if third, _ := backup(t, src); !bytes.Equal(third, first) {
		t.Error("a backup after the restore differs from the one restored")
	}

	// A changed object is listed as an update.
	c.k.MustDo(http.MethodPatch, "/api/v1/namespaces/argo/configmaps/workflow-controller-configmap",
		map[string]any{"data": map[string]any{"config": "changed"}}, nil)
	upd := restore(t, src, source.RestoreOptions{Only: []string{"ConfigMap/workflow-controller-configmap"}}, backupOf(first, m))
	if !strings.Contains(upd, "  update    ConfigMap argo/workflow-controller-configmap\n") {
		t.Errorf("dry-run of a changed ConfigMap:\n%s", upd)
	}

	// Into another namespace.
	restore(t, src, source.RestoreOptions{NamespaceMap: map[string]string{"argo": "argo-copy"}}, backupOf(first, m))
	if v := secretValue(t, c, "argo-copy"); v != kubetest.SecretValue("argo") {
		t.Errorf("secret in argo-copy = %q", v)
	}
	rb := c.get(t, "/apis/rbac.authorization.k8s.io/v1/namespaces/argo-copy/rolebindings/workflow")
	if ns := rb["subjects"].([]any)[0].(map[string]any)["namespace"]; ns != "argo-copy" {
		t.Errorf("rolebinding subject namespace %v", ns)
	}

	// A drill dry-runs everything into a scratch namespace it removes.
	var dout bytes.Buffer
	d, err := kubernetes.Kind{}.Drill(src, source.Env{Out: &dout})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	checks, err := d.Run(t.Context(), backupOf(first, m))
	if err != nil || source.FailedChecks(checks) != nil {
		t.Fatalf("drill: %v %v\n%s", checks, err, dout.String())
	}
	if !containsCheck(checks, "dry-run WorkflowTemplate", "2 of 2 objects") {
		t.Errorf("drill checks %v", checks)
	}
	var nsList struct{ Items []map[string]any }
	c.k.MustDo(http.MethodGet, "/api/v1/namespaces?labelSelector=lifeboat.dev/drill%3Dtrue", nil, &nsList)
	for _, ns := range nsList.Items {
		if ns["status"].(map[string]any)["phase"] != "Terminating" {
			t.Errorf("drill left scratch namespace %v", ns["metadata"])
		}
	}
}

func TestMissingListPermissionIsNamed(t *testing.T) {
	c := startCluster(t, "argo")
	tok := kubetest.ServiceAccountToken(t, c.k, "backup-reader", kubetest.ReadOnlyRules("get"))
	tokFile := filepath.Join(t.TempDir(), "sa-token")
	if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := kubernetes.Kind{}.NewSource(c.source(t, tokFile, "argo"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Open(t.Context())
	if err == nil {
		t.Fatal("backup without list on secrets succeeded")
	}
	for _, want := range []string{`refused "list" on secrets in namespace argo`, `{apiGroups: [""], resources: ["secrets"], verbs: ["list"]}`, "a Role in namespace argo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}

	// With list granted the same account backs up.
	c.k.MustDo(http.MethodPut, "/apis/rbac.authorization.k8s.io/v1/clusterroles/backup-reader", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "backup-reader"},
		"rules": kubetest.ReadOnlyRules("get", "list")}, nil)
	a, err := s.Open(t.Context())
	if err != nil {
		t.Fatalf("backup with read-only rules: %v", err)
	}
	data, err := io.ReadAll(a.Body)
	if err != nil {
		t.Fatal(err)
	}

	// The same read-only account cannot restore: the dry-run refuses before anything is
	// applied, naming the verb, and the deleted object stays deleted.
	c.k.MustDo(http.MethodDelete, "/api/v1/namespaces/argo/configmaps/workflow-controller-configmap", nil, nil)
	var out bytes.Buffer
	r, err := kubernetes.Kind{}.Restore(c.source(t, tokFile, "argo"), source.RestoreOptions{}, source.Env{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	err = r.Check(t.Context(), backupOf(data, nil))
	if err == nil || !strings.Contains(err.Error(), `refused "patch" on customresourcedefinitions.apiextensions.k8s.io cluster-wide`) ||
		!strings.Contains(err.Error(), "to the account that restores") {
		t.Fatalf("restore check with a read-only account: %v\n%s", err, out.String())
	}
	if _, err := c.k.Do(t.Context(), http.MethodGet, "/api/v1/namespaces/argo/configmaps/workflow-controller-configmap", nil, nil); err == nil {
		t.Error("a refused restore applied the ConfigMap")
	}
}

func TestExportAppliesServerSide(t *testing.T) {
	c := startCluster(t, "argo")
	src := c.source(t, c.tokenFile, "argo")
	var out bytes.Buffer
	n, err := kubernetes.Export(t.Context(), src, kubernetes.ExportOptions{Namespace: "argo", Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(strings.TrimPrefix(out.String(), "---\n"), "---\n")
	if n != len(docs) || n < 8 {
		t.Fatalf("export wrote %d objects, %d documents:\n%s", n, len(docs), out.String())
	}
	if strings.Contains(out.String(), "ClusterRole") || strings.Contains(out.String(), "CustomResourceDefinition") {
		t.Error("a namespace export holds cluster-scoped objects")
	}
	dir := t.TempDir()
	if _, err := kubernetes.Export(t.Context(), src, kubernetes.ExportOptions{Namespace: "argo", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "core", "Secret", "argo", "artifact-creds.yaml")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("exported secret file: %v %v", fi, err)
	}

	wtSpec := specOf(t, c, "/apis/argoproj.io/v1alpha1/namespaces/argo/workflowtemplates/hello")
	kubetest.DeleteNamespace(t, c.k, "argo")
	// The export in the order it was written, applied with server-side apply as
	// kubectl apply --server-side would.
	for _, doc := range docs {
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(o)
		md := o["metadata"].(map[string]any)
		if err := applyDoc(t, c.k, o["apiVersion"].(string), o["kind"].(string), md, body); err != nil {
			t.Fatalf("apply exported %s %v: %v", o["kind"], md["name"], err)
		}
	}
	if v := secretValue(t, c, "argo"); v != kubetest.SecretValue("argo") {
		t.Errorf("secret after applying the export = %q", v)
	}
	if got := specOf(t, c, "/apis/argoproj.io/v1alpha1/namespaces/argo/workflowtemplates/hello"); got != wtSpec {
		t.Errorf("template spec after applying the export: %s, want %s", got, wtSpec)
	}
}

// applyDoc sends one server-side apply request.
func applyDoc(t *testing.T, k *testenv.Kube, apiVersion, kind string, md map[string]any, body []byte) error {
	plural := map[string]string{"Namespace": "namespaces", "ConfigMap": "configmaps", "Secret": "secrets",
		"ServiceAccount": "serviceaccounts", "Role": "roles", "RoleBinding": "rolebindings",
		"WorkflowTemplate": "workflowtemplates", "CronWorkflow": "cronworkflows"}[kind]
	prefix := "/api/" + apiVersion
	if strings.Contains(apiVersion, "/") {
		prefix = "/apis/" + apiVersion
	}
	p := prefix + "/" + plural + "/" + md["name"].(string)
	if ns, ok := md["namespace"].(string); ok {
		p = prefix + "/namespaces/" + ns + "/" + plural + "/" + md["name"].(string)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, k.URL+p+"?fieldManager=test&force=true", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+k.Token)
	req.Header.Set("Content-Type", "application/apply-patch+yaml")
	resp, err := k.HTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		return &applyError{status: resp.Status, body: string(msg)}
	}
	return nil
}

type applyError struct{ status, body string }

func (e *applyError) Error() string { return e.status + ": " + e.body }

func archiveNames(t *testing.T, data []byte) string {
	t.Helper()
	var b strings.Builder
	names, err := kubernetes.ArchiveNames(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b.WriteString(n + "\n")
	}
	return b.String()
}

func containsCount(rows []catalog.KubernetesCount, want catalog.KubernetesCount) bool {
	for _, r := range rows {
		if r == want {
			return true
		}
	}
	return false
}

func containsCheck(checks []source.Check, name, detail string) bool {
	for _, c := range checks {
		if c.Name == name && c.Detail == detail {
			return true
		}
	}
	return false
}
