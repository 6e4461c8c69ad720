package helm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// aliasPairs are values in the shape platform charts write (vault.backup.destination,
// workflows.metadataDatabase.backup.destination, .inCluster, .external) next to the same
// settings in the chart's own keys.
var aliasPairs = []struct {
	name         string // golden file testdata/<name>.golden.yaml
	native, seed string // relative to the repository root
	aliases      []string
}{
	{"platform", "deploy/examples/lifeboat-platform.yaml", "deploy/examples/lifeboat-platform-seed.yaml",
		[]string{"vault.backup.destination", "workflows.metadataDatabase.backup.destination", "workflows.metadataDatabase.inCluster"}},
	{"aliases-external", "test/helm/testdata/aliases/external-native.yaml", "test/helm/testdata/aliases/external-seed.yaml",
		[]string{"workflows.metadataDatabase.backup.destination", "workflows.metadataDatabase.external"}},
}

// lookup returns the value at a dotted path of a values file, or nil.
func lookup(values map[string]any, path string) any {
	var cur any = values
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// The seed-style values render exactly the objects of the chart's own keys (byte for
// byte, so the config, every pod, Secret mount and RBAC rule), and both match the golden
// file (-update rewrites it).
func TestAliasesRenderLikeNativeKeys(t *testing.T) {
	helmBin(t)
	for _, p := range aliasPairs {
		t.Run(p.name, func(t *testing.T) {
			seedPath := filepath.Join(testenv.RepoRoot(), p.seed)
			data, err := os.ReadFile(seedPath)
			if err != nil {
				t.Fatal(err)
			}
			var seed map[string]any
			if err := yaml.Unmarshal(data, &seed); err != nil {
				t.Fatal(err)
			}
			// The comparison means something only while the seed file uses the aliases.
			for _, a := range p.aliases {
				if m, ok := lookup(seed, a).(map[string]any); !ok || len(m) == 0 {
					t.Fatalf("%s does not set %s", p.seed, a)
				}
			}
			native := render(t, []string{filepath.Join(testenv.RepoRoot(), p.native)})
			got := render(t, []string{seedPath})
			if got != native {
				t.Errorf("%s renders differently from %s:\n%s", p.seed, p.native, firstDiff(native, got))
			}
			golden := filepath.Join("testdata", p.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(native), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (create it with -update)", err)
			}
			if native != string(want) {
				t.Errorf("%s differs from %s (rerun with -update if the change is intended):\n%s", p.native, golden, firstDiff(string(want), native))
			}
		})
	}
}
