package helm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// vaultChartValues is the part of deploy/examples/vault-values.yaml that lifeboat's
// auto-restore snippet lives in.
type vaultChartValues struct {
	Server struct {
		ExtraInitContainers []json.RawMessage `json:"extraInitContainers"`
		Volumes             []json.RawMessage `json:"volumes"`
	} `json:"server"`
}

// strictInto decodes one Kubernetes object fragment into a typed struct, unknown fields
// failing.
func strictInto(t *testing.T, raw json.RawMessage, into any) {
	t.Helper()
	if err := decodeStrict(raw, into); err != nil {
		t.Fatalf("%v in\n%s", err, raw)
	}
}

// autoRestoreSnippet returns the lifeboat sidecar and the volumes of the Vault chart example.
func autoRestoreSnippet(t *testing.T) (corev1.Container, []corev1.Volume) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy", "examples", "vault-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatal(err)
	}
	var v vaultChartValues
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Server.ExtraInitContainers) != 1 {
		t.Fatalf("want one extra init container, got %d", len(v.Server.ExtraInitContainers))
	}
	var c corev1.Container
	strictInto(t, v.Server.ExtraInitContainers[0], &c)
	var vols []corev1.Volume
	for _, raw := range v.Server.Volumes {
		var vol corev1.Volume
		strictInto(t, raw, &vol)
		vols = append(vols, vol)
	}
	return c, vols
}

// The auto-restore snippet for the Vault chart fits what the lifeboat chart renders for
// it (lifeboat-full.yaml): it mounts the rendered ConfigMap, every file that config names,
// and reads the unseal keys from the Secret the rendered Role allows; it runs beside the
// server (native sidecar) and as non-root.
func TestAutoRestoreSnippet(t *testing.T) {
	c, vols := autoRestoreSnippet(t)
	if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Error("the auto-restore container must be a native sidecar (restartPolicy: Always): a plain init container blocks its own server")
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the auto-restore container must run as non-root with a read-only root filesystem")
	}
	script := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
	if !strings.Contains(script, "vault auto-restore --require-all-nodes --unseal-keys-secret vault-recovery/vault-unseal-keys:unseal-keys") {
		t.Errorf("the snippet does not read the unseal keys the full values grant: %s", script)
	}

	objs := renderedObjects(t, valueSets[1])
	var cfgText string
	for _, cm := range byKind[*corev1.ConfigMap](objs) {
		if cm.Namespace == "vault" {
			cfgText = cm.Data["lifeboat.yaml"]
			volumeWith := func(name string) bool {
				return slices.ContainsFunc(vols, func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == name })
			}
			if !volumeWith(cm.Name) {
				t.Errorf("the snippet does not mount ConfigMap %s", cm.Name)
			}
		}
	}
	cfg, err := config.Parse([]byte(cfgText))
	if err != nil {
		t.Fatalf("auto-restore config: %v", err)
	}
	js, _ := json.Marshal(cfg)
	paths := append(lifeboatPathRE.FindAllString(string(js), -1), "/etc/lifeboat/config/lifeboat.yaml")
	for _, p := range paths {
		if p != config.DefaultKubernetesTokenPath && !mounted(c, vols, p) {
			t.Errorf("the auto-restore config names %s, which the snippet does not mount", p)
		}
	}
	for _, r := range byKind[*rbacv1.Role](objs) {
		if r.Namespace == "vault-recovery" && !slices.Equal(r.Rules[0].ResourceNames, []string{"vault-unseal-keys"}) {
			t.Errorf("the Role in vault-recovery grants %v, the snippet reads vault-unseal-keys", r.Rules[0].ResourceNames)
		}
	}
}

// The other example values files are YAML without duplicate keys, and the Kubernetes
// fragments in them decode strictly.
func TestExampleValuesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "deploy", "examples", "*.yaml"))
	if err != nil || len(files) < 6 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := yaml.YAMLToJSONStrict(data); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy", "examples", "postgres-values.yaml"))
	js, _ := yaml.YAMLToJSON(data)
	var pg struct {
		Primary struct {
			ExtraEnvVars []json.RawMessage `json:"extraEnvVars"`
		} `json:"primary"`
	}
	if err := json.Unmarshal(js, &pg); err != nil {
		t.Fatal(err)
	}
	for _, raw := range pg.Primary.ExtraEnvVars {
		var e corev1.EnvVar
		strictInto(t, raw, &e)
	}
}
