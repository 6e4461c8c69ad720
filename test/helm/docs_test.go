package helm

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Every CronJob the docs name (kubectl create job --from=cronjob/..., LB_CRONJOB=...,
// "the CronJobs `...`") is one the chart renders for the release the docs install
// (`lifeboat`, with the full values, which back up and drill both sources). The chart
// README's `<release>-...` names are checked the same way.
func TestDocsNameRenderedCronJobs(t *testing.T) {
	var rendered []string
	for _, cj := range byKind[*batchv1.CronJob](renderedObjects(t, valueSets[1])) {
		rendered = append(rendered, cj.Name)
	}
	if len(rendered) != 4 {
		t.Fatalf("the full values render CronJobs %v, want a backup and a drill per source", rendered)
	}
	// The platform configuration's CronJobs come from the platform values.
	for _, cj := range byKind[*batchv1.CronJob](renderedObjects(t, valueSetNamed("platform"))) {
		if !slices.Contains(rendered, cj.Name) {
			rendered = append(rendered, cj.Name)
		}
	}
	nameRE := regexp.MustCompile(`(?:cronjob/|LB_CRONJOB=|CronJobs? ` + "`" + `)([a-z0-9<>_]+-[a-z0-9<>_-]+)|(` + "`" + `(?:lifeboat|<release>)-(?:backup|drill)-[a-z0-9<>_-]+)`)
	seen := 0
	for _, doc := range []string{"docs/admin-guide.md", "deploy/helm/lifeboat/README.md", "README.md"} {
		data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range nameRE.FindAllStringSubmatch(string(data), -1) {
			name := strings.TrimPrefix(m[1]+m[2], "`")
			name = strings.ReplaceAll(name, "<release>", releaseName)
			if strings.Contains(name, "$") || strings.HasSuffix(name, "-cli") {
				continue
			}
			seen++
			if !slices.Contains(rendered, name) {
				t.Errorf("%s names CronJob %q (%s); the chart renders %v", doc, name, m[0], rendered)
			}
		}
	}
	if seen < 5 {
		t.Errorf("found only %d CronJob names in the docs", seen)
	}
}

// Every alert the chart renders has a row in the admin guide's alerts table, which says
// what to do when it fires.
func TestDocsExplainEveryAlert(t *testing.T) {
	helmBin(t)
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs/admin-guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	drills := []string{"vault.drill.enabled=true", "vault.drill.unsealKeysSecretRef.name=vault-unseal-keys", "vault.drill.tokenSecretRef.name=vault-drill"}
	var alerts []string
	for _, sets := range alertModes {
		for _, g := range renderRules(t, append(slices.Clone(sets), drills...)...).Groups {
			for _, r := range g.Rules {
				if r.Alert != "" && !slices.Contains(alerts, r.Alert) {
					alerts = append(alerts, r.Alert)
				}
			}
		}
	}
	if len(alerts) < 4 {
		t.Fatalf("rendered alerts %v: the check is not looking at them", alerts)
	}
	for _, a := range alerts {
		if !strings.Contains(string(data), "| `"+a+"` |") {
			t.Errorf("docs/admin-guide.md's alerts table has no row for %s", a)
		}
	}
}
