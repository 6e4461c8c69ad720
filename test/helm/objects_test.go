package helm

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/yaml"
)

// object is one rendered manifest: its raw YAML, identity, and (for built-in kinds) the
// typed object it strictly decoded into.
type object struct {
	source    string // "# Source:" comment helm writes, for messages
	yaml      []byte
	gvk       schema.GroupVersionKind
	name      string
	namespace string
	typed     runtime.Object // nil for custom resources
}

func (o object) String() string {
	return fmt.Sprintf("%s %s/%s (%s)", o.gvk.Kind, o.namespace, o.name, o.source)
}

// scheme holds every built-in kind the chart renders.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, rbacv1.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strictYAML rejects unknown fields, duplicate fields and case mismatches (which
// encoding/json would silently accept) against the Kubernetes API types.
var strictYAML = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
	kjson.SerializerOptions{Yaml: true, Strict: true})

// clusterScoped are the kinds the chart renders without a namespace.
var clusterScoped = map[string]bool{"ClusterRole": true, "ClusterRoleBinding": true}

// customKinds are the prometheus-operator kinds the chart renders; their schemas are
// checked by customDecode and by the CRDs the dry run installs.
var customKinds = map[string]bool{"ServiceMonitor": true, "PrometheusRule": true}

// parseObjects splits helm template output into objects and strictly decodes each one.
// Any decoding problem fails the test.
func parseObjects(t testing.TB, manifest string) []object {
	t.Helper()
	var out []object
	for _, doc := range strings.Split(manifest, "\n---") {
		doc = strings.TrimPrefix(strings.TrimSpace(doc), "---")
		source := ""
		if i := strings.Index(doc, "# Source: "); i >= 0 {
			source, _, _ = strings.Cut(doc[i+len("# Source: "):], "\n")
		}
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		o := object{source: source, yaml: []byte(doc)}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(o.yaml, &meta); err != nil {
			t.Fatalf("%s: not YAML: %v\n%s", source, err, doc)
		}
		o.gvk = schema.FromAPIVersionAndKind(meta.APIVersion, meta.Kind)
		o.name, o.namespace = meta.Metadata.Name, meta.Metadata.Namespace
		if o.name == "" || (o.namespace == "") != clusterScoped[meta.Kind] {
			t.Errorf("%s: every object needs metadata.name, and metadata.namespace unless cluster-scoped (got %q, %q)", o, o.name, o.namespace)
		}
		if customKinds[meta.Kind] {
			if err := customDecode(meta.Kind, o.yaml); err != nil {
				t.Errorf("%s: %v", o, err)
			}
		} else {
			obj, gvk, err := strictYAML.Decode(o.yaml, nil, nil)
			if err != nil {
				t.Errorf("%s: strict decode into the Kubernetes API type: %v", o, err)
				continue
			}
			if *gvk != o.gvk {
				t.Errorf("%s: decoded as %s", o, gvk)
			}
			o.typed = obj
		}
		out = append(out, o)
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// byKind returns the typed objects of one kind.
func byKind[T runtime.Object](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.typed.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// podTemplates returns every pod template with a name for messages.
func podTemplates(objs []object) map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for _, o := range objs {
		switch v := o.typed.(type) {
		case *batchv1.CronJob:
			out["CronJob/"+v.Name] = &v.Spec.JobTemplate.Spec.Template
		case *batchv1.Job:
			out["Job/"+v.Name] = &v.Spec.Template
		case *appsv1.Deployment:
			out["Deployment/"+v.Name] = &v.Spec.Template
		}
	}
	return out
}
