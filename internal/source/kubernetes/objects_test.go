package kubernetes

import (
	"archive/tar"
	"bytes"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func parse(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestClean(t *testing.T) {
	inBackup := func(k key) bool { return k.Kind == "WorkflowTemplate" && k.Name == "owner" }
	tests := []struct {
		name, in, want string
	}{
		{"cluster-set metadata, status and kubectl's copy go", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: argo
  uid: 1234
  resourceVersion: "99"
  generation: 3
  creationTimestamp: "2026-01-01T00:00:00Z"
  selfLink: /x
  managedFields: [{manager: kubectl}]
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
data: {a: b}
status: {x: y}
`, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: argo}
data: {a: b}
`},
		{"owners outside the backup are dropped, owners inside lose their uid", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: argo
  annotations: {keep: me}
  ownerReferences:
    - {apiVersion: argoproj.io/v1alpha1, kind: WorkflowTemplate, name: owner, uid: u1, controller: true}
    - {apiVersion: apps/v1, kind: Deployment, name: elsewhere, uid: u2}
`, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: argo
  annotations: {keep: me}
  ownerReferences:
    - {apiVersion: argoproj.io/v1alpha1, kind: WorkflowTemplate, name: owner, controller: true}
`},
		{"a Service's assigned cluster IPs go", `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: argo}
spec: {clusterIP: 10.96.0.7, clusterIPs: [10.96.0.7], ports: [{port: 80}]}
`, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: argo}
spec: {ports: [{port: 80}]}
`},
		{"a headless Service keeps None", `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: argo}
spec: {clusterIP: None, clusterIPs: [None]}
`, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: argo}
spec: {clusterIP: None, clusterIPs: [None]}
`},
		{"a service-account token's data is minted by the cluster", `
apiVersion: v1
kind: Secret
metadata: {name: t, namespace: argo, annotations: {kubernetes.io/service-account.name: sa, kubernetes.io/service-account.uid: u}}
type: kubernetes.io/service-account-token
data: {token: abc}
`, `
apiVersion: v1
kind: Secret
metadata: {name: t, namespace: argo, annotations: {kubernetes.io/service-account.name: sa}}
type: kubernetes.io/service-account-token
`},
		{"a Namespace's finalizers are the server's", `
apiVersion: v1
kind: Namespace
metadata: {name: argo, labels: {team: a}}
spec: {finalizers: [kubernetes]}
status: {phase: Active}
`, `
apiVersion: v1
kind: Namespace
metadata: {name: argo, labels: {team: a}}
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parse(t, tc.in)
			clean(got, inBackup)
			if want := parse(t, tc.want); !reflect.DeepEqual(got.Object, want.Object) {
				g, _ := yaml.Marshal(got.Object)
				w, _ := yaml.Marshal(want.Object)
				t.Errorf("got:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

func fixtureObjects(t *testing.T) []*unstructured.Unstructured {
	return []*unstructured.Unstructured{
		parse(t, "{apiVersion: argoproj.io/v1alpha1, kind: WorkflowTemplate, metadata: {name: hello, namespace: argo}, spec: {entrypoint: main}}"),
		parse(t, "{apiVersion: v1, kind: Secret, metadata: {name: creds, namespace: argo}, data: {k: dg==}}"),
		parse(t, "{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: wf, namespace: argo}, subjects: [{kind: ServiceAccount, name: sa, namespace: argo}], roleRef: {kind: Role, name: wf}}"),
		parse(t, "{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: workflowtemplates.argoproj.io}, spec: {group: argoproj.io}}"),
		parse(t, "{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: argo}, data: {a: b}}"),
		parse(t, "{apiVersion: v1, kind: Namespace, metadata: {name: argo}}"),
		parse(t, "{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa, namespace: argo}}"),
		parse(t, "{apiVersion: v1, kind: ConfigMap, metadata: {name: other, namespace: team-a}, data: {a: b}}"),
	}
}

func TestOrderedIsDependencyOrder(t *testing.T) {
	var got []string
	for _, u := range ordered(fixtureObjects(t)) {
		got = append(got, keyOf(u).Path())
	}
	want := []string{
		"apiextensions.k8s.io/CustomResourceDefinition/_cluster/workflowtemplates.argoproj.io.yaml",
		"core/Namespace/_cluster/argo.yaml",
		"core/ServiceAccount/argo/sa.yaml",
		"rbac.authorization.k8s.io/RoleBinding/argo/wf.yaml",
		"core/ConfigMap/argo/cfg.yaml",
		"core/ConfigMap/team-a/other.yaml",
		"core/Secret/argo/creds.yaml",
		"argoproj.io/WorkflowTemplate/argo/hello.yaml",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestArchiveIsDeterministicAndChecked(t *testing.T) {
	objs := fixtureObjects(t)
	var a, b bytes.Buffer
	if err := writeArchive(&a, objs); err != nil {
		t.Fatal(err)
	}
	reversed := make([]*unstructured.Unstructured, len(objs))
	for i, u := range objs {
		reversed[len(objs)-1-i] = u.DeepCopy()
	}
	if err := writeArchive(&b, reversed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same objects in another order gave another archive")
	}
	back, err := readArchive(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(objs) {
		t.Fatalf("read %d objects back, wrote %d", len(back), len(objs))
	}
	if got := describeObjects(back); got != "8 objects: 2 ConfigMap, 1 Namespace, 1 Secret, 1 ServiceAccount, 1 CustomResourceDefinition, 1 WorkflowTemplate, 1 RoleBinding" {
		t.Errorf("describe: %s", got)
	}

	// An entry stored under another object's path is refused.
	moved := parse(t, "{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: argo}}")
	var c bytes.Buffer
	if err := writeArchive(&c, []*unstructured.Unstructured{moved}); err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(c.Bytes(), []byte("namespace: argo"), []byte("namespace: xxxx"), 1)
	if _, err := readArchive(bytes.NewReader(tampered)); err == nil || !strings.Contains(err.Error(), "belongs at core/ConfigMap/xxxx/cfg.yaml") {
		t.Errorf("tampered archive: %v", err)
	}
	if _, err := readArchive(strings.NewReader("not a tar at all, but long enough to fill a tar header block?" + strings.Repeat("x", 600))); err == nil {
		t.Error("garbage read as an archive")
	}
	// An entry that declares more than any object is refused before it is read: only its
	// header is there.
	var huge bytes.Buffer
	tw := tar.NewWriter(&huge)
	_ = tw.WriteHeader(&tar.Header{Name: "core/ConfigMap/argo/big.yaml", Mode: 0o600, Size: 1 << 40, Typeflag: tar.TypeReg})
	if _, err := readArchive(bytes.NewReader(huge.Bytes())); err == nil || !strings.Contains(err.Error(), "more than any Kubernetes object") {
		t.Errorf("a 1 TiB entry: %v", err)
	}
}

func TestSelection(t *testing.T) {
	objs := fixtureObjects(t)
	got, err := selection(objs, map[string]string{"argo": "argo-copy"}, []string{"rolebinding/wf"})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, u := range got {
		paths = append(paths, keyOf(u).Path())
	}
	want := []string{"rbac.authorization.k8s.io/RoleBinding/argo-copy/wf.yaml", "core/Namespace/_cluster/argo-copy.yaml"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("selection: %v, want %v", paths, want)
	}
	subjects, _, _ := unstructured.NestedSlice(got[0].Object, "subjects")
	if ns := subjects[0].(map[string]any)["namespace"]; ns != "argo-copy" {
		t.Errorf("subject namespace %v, want argo-copy", ns)
	}
	if objs[2].GetNamespace() != "argo" {
		t.Error("selection changed the backup's objects")
	}
	for _, bad := range []struct {
		m    map[string]string
		only []string
		want string
	}{
		{nil, []string{"ConfigMap/missing"}, "--only ConfigMap/missing matches no object"},
		{map[string]string{"nope": "x"}, nil, "the backup holds nothing in namespace nope"},
	} {
		if _, err := selection(objs, bad.m, bad.only); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("selection(%v, %v) = %v, want %q", bad.m, bad.only, err, bad.want)
		}
	}
}
