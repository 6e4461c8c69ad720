package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/lifeboat-backup/lifeboat/internal/source/kubernetes/kubetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// kubeSetup is a real kube-apiserver with Argo-like CRDs and a platform's configuration
// in two namespaces, and two lifeboat configs backing it up to directories: one with
// age encryption, one without (age output is randomised, so only unencrypted backups
// can be compared by sha256).
type kubeSetup struct {
	k                *testenv.Kube
	dir              string
	encDir, plainDir string
	encConfig, plain string
}

func newKubeSetup(t *testing.T, tokenFile string) *kubeSetup {
	t.Helper()
	s := &kubeSetup{k: testenv.StartKube(t), dir: t.TempDir()}
	kubetest.InstallCRDs(t, s.k)
	kubetest.Populate(t, s.k, "argo")
	kubetest.Populate(t, s.k, "team-a")
	kubetest.PopulateCluster(t, s.k)
	if tokenFile == "" {
		tokenFile = writeFile(t, filepath.Join(s.dir, "token"), s.k.Token)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := writeFile(t, filepath.Join(s.dir, "age.key"), id.String()+"\n")
	src := "sources:\n  - name: platform\n    kind: kubernetes\n    kubernetes:\n" +
		indentLines(kubetest.Config(s.k, tokenFile, "argo", "team-a"), "      ")
	s.encDir, s.plainDir = filepath.Join(s.dir, "enc"), filepath.Join(s.dir, "plain")
	s.encConfig = writeFile(t, filepath.Join(s.dir, "enc.yaml"), src+fmt.Sprintf(`destinations:
  - {name: local, kind: file, file: {path: %s}}
encryption:
  age:
    recipients: [%s]
    identityFile: %s
`, s.encDir, id.Recipient(), idFile))
	s.plain = writeFile(t, filepath.Join(s.dir, "plain.yaml"), src+fmt.Sprintf(`destinations:
  - {name: local, kind: file, file: {path: %s}}
`, s.plainDir))
	return s
}

func indentLines(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

func (s *kubeSetup) run(t *testing.T, config string, want int, args ...string) run {
	t.Helper()
	return mustRun(t, want, nil, append([]string{"--config", config}, args...)...)
}

func (s *kubeSetup) listed(t *testing.T, config string) []listed {
	t.Helper()
	var rows []listed
	r := s.run(t, config, 0, "list", "platform", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("list: %v\n%s", err, r)
	}
	return rows
}

func (s *kubeSetup) secret(t *testing.T, ns string) string {
	t.Helper()
	var o struct{ Data map[string]string }
	s.k.MustDo(http.MethodGet, "/api/v1/namespaces/"+ns+"/secrets/artifact-creds", nil, &o)
	v, err := base64.StdEncoding.DecodeString(o.Data["secretKey"])
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func (s *kubeSetup) spec(t *testing.T, path string) string {
	t.Helper()
	var o map[string]any
	s.k.MustDo(http.MethodGet, path, nil, &o)
	data, _ := json.Marshal(o["spec"])
	return string(data)
}

func TestKubernetesBackupRestoreExport(t *testing.T) {
	s := newKubeSetup(t, "")

	// Encrypted: no Secret value in clear anywhere in the destination.
	r := s.run(t, s.encConfig, 0, "backup", "platform")
	err := filepath.Walk(s.encDir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, ns := range []string{"argo", "team-a"} {
			if strings.Contains(string(data), kubetest.SecretValue(ns)) ||
				strings.Contains(string(data), base64.StdEncoding.EncodeToString([]byte(kubetest.SecretValue(ns)))) {
				t.Errorf("%s holds the Secret of %s in clear", path, ns)
			}
		}
		if filepath.Base(path) != "manifest.json" && !strings.HasSuffix(path, ".k8s.tar.zst.age") {
			t.Errorf("unexpected object %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.run(t, s.encConfig, 0, "verify", "latest")

	// Unencrypted: two backups of the unchanged cluster have the same sha256.
	s.run(t, s.plain, 0, "backup", "platform")
	s.run(t, s.plain, 0, "backup", "platform")
	rows := s.listed(t, s.plain)
	if len(rows) != 2 || rows[0].SHA256 != rows[1].SHA256 || rows[0].ID == rows[1].ID {
		t.Fatalf("two backups of an unchanged cluster: %+v", rows)
	}
	var m struct {
		Kubernetes struct {
			ServerVersion string
			Objects       []struct {
				Group, Kind, Namespace string
				Count                  int
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(s.plainDir, "platform", rows[0].ID, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Kubernetes.ServerVersion == "" || len(m.Kubernetes.Objects) == 0 {
		t.Fatalf("manifest kubernetes info: %v\n%s", err, data)
	}

	wt := "/apis/argoproj.io/v1alpha1/namespaces/team-a/workflowtemplates/hello"
	wtSpec := s.spec(t, wt)
	kubetest.DeleteCRDs(t, s.k)
	kubetest.DeleteNamespace(t, s.k, "argo")
	kubetest.DeleteNamespace(t, s.k, "team-a")

	r = s.run(t, s.encConfig, 0, "restore", "platform", "--resources", "latest")
	for _, want := range []string{
		"  create    WorkflowTemplate.argoproj.io team-a/hello\n",
		"  create    Namespace/argo\n",
		"  unchanged ClusterRole.rbac.authorization.k8s.io/argo-aggregate-to-view\n",
		"applying custom resources and the rest",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("restore output lacks %q:\n%s", want, r)
		}
	}
	for _, ns := range []string{"argo", "team-a"} {
		if v := s.secret(t, ns); v != kubetest.SecretValue(ns) {
			t.Errorf("restored secret in %s = %q", ns, v)
		}
	}
	if got := s.spec(t, wt); got != wtSpec {
		t.Errorf("restored template spec %s, want %s", got, wtSpec)
	}
	// The restored cluster backs up to the same bytes as before.
	s.run(t, s.plain, 0, "backup", "platform")
	if after := s.listed(t, s.plain); len(after) != 3 || after[0].SHA256 != rows[0].SHA256 {
		t.Errorf("backup after the restore differs: %+v", after)
	}

	// Into another namespace, one object at a time.
	s.run(t, s.encConfig, 0, "restore", "platform", "--resources", "latest",
		"--namespace-map", "team-a=team-b", "--only", "Secret/artifact-creds")
	if v := s.secret(t, "team-b"); v != kubetest.SecretValue("team-a") {
		t.Errorf("secret in team-b = %q", v)
	}
	r = s.run(t, s.encConfig, 3, "restore", "platform", "--resources", "latest", "--only", "ConfigMap")
	if !strings.Contains(r.stderr, "write it as kind/name") {
		t.Errorf("bad --only:\n%s", r)
	}

	// Export of one namespace, written to a directory and to stdout.
	exp := filepath.Join(s.dir, "export")
	r = s.run(t, s.plain, 0, "export", "--source", "platform", "--namespace", "argo", "--dir", exp)
	if !strings.Contains(r.stdout, "exported ") {
		t.Errorf("export: %s", r)
	}
	if _, err := os.Stat(filepath.Join(exp, "argoproj.io", "CronWorkflow", "argo", "nightly.yaml")); err != nil {
		t.Error(err)
	}
	r = s.run(t, s.plain, 0, "export", "--source", "platform", "--namespace", "argo")
	if !strings.HasPrefix(r.stdout, "---\napiVersion: v1\nkind: Namespace\n") || strings.Contains(r.stdout, "resourceVersion") {
		t.Errorf("export to stdout:\n%s", r.stdout)
	}

	// A drill dry-runs into a scratch namespace.
	r = s.run(t, s.encConfig, 0, "drill", "platform")
	if !strings.Contains(r.stdout, "dry-run WorkflowTemplate") {
		t.Errorf("drill output:\n%s", r)
	}
}

// A backup account without list on Secrets: the error names the verb, the resource, the
// namespace and the rule; nothing is committed.
func TestKubernetesMissingPermission(t *testing.T) {
	tmp := t.TempDir()
	tokFile := filepath.Join(tmp, "sa-token")
	s := newKubeSetup(t, tokFile)
	writeFile(t, tokFile, kubetest.ServiceAccountToken(t, s.k, "lifeboat-backup", kubetest.ReadOnlyRules("get")))
	r := s.run(t, s.plain, 1, "backup", "platform")
	for _, want := range []string{`refused "list" on secrets in namespace argo`, `verbs: ["list"]`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error lacks %q:\n%s", want, r)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(s.plainDir, "platform")); len(entries) != 0 {
		t.Errorf("a refused backup left %d entries in the destination", len(entries))
	}
}
