package helm

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// A restore Job's pod template is immutable, but holds what upgrades change (image,
// checksum/config, resources...). With the restore values (both restores enabled) installed
// for real on the test kube-apiserver, an upgrade that changes the pod template must
// succeed and leave the existing restore Jobs untouched (never re-created: a second
// restore), another backup id must add a Job, and uninstall must keep them.
func TestRestoreJobsSurviveUpgrades(t *testing.T) {
	helmBin(t)
	k := testenv.StartKube(t)
	installCRDs(t, k)
	var namespaces []string
	restoring := valueSets[3]
	for _, o := range renderedObjects(t, restoring) {
		if !slices.Contains(namespaces, o.namespace) {
			namespaces = append(namespaces, o.namespace)
		}
	}
	for _, ns := range namespaces {
		k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]string{"name": ns},
		}, nil)
	}
	env := []string{"KUBECONFIG=" + writeKubeconfig(t, k)}
	helm := func(args ...string) {
		t.Helper()
		if _, errOut, err := runHelmEnv(t, env, args...); err != nil {
			// An immutable-field error prints the whole pod template; its head says enough.
			if len(errOut) > 2000 {
				errOut = errOut[:2000] + "..."
			}
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
	}
	restoreJobs := func() map[string]batchv1.Job {
		t.Helper()
		var list batchv1.JobList
		k.MustDo(http.MethodGet, "/apis/batch/v1/namespaces/"+namespace+"/jobs", nil, &list)
		out := map[string]batchv1.Job{}
		for _, j := range list.Items {
			if strings.HasPrefix(j.Labels["app.kubernetes.io/component"], "restore-") {
				out[j.Name] = j
			}
		}
		return out
	}

	values := restoring.valuesArgs()
	helm(append([]string{"install", releaseName, chartDir(), "--namespace", namespace}, values...)...)
	before := restoreJobs()
	if len(before) != 2 {
		t.Fatalf("after install: want the 2 restore Jobs of the restore values, got %d", len(before))
	}

	// Changes every pod template: before restore Jobs were left out of upgrades, this
	// failed with "field is immutable".
	helm(append(append([]string{"upgrade", releaseName, chartDir(), "--namespace", namespace}, values...),
		"--set", "podAnnotations.upgraded=yes", "--set", "resources.limits.memory=600Mi")...)
	after := restoreJobs()
	if len(after) != len(before) {
		t.Fatalf("after the upgrade: %d restore Jobs, want the %d from before", len(after), len(before))
	}
	for name, j := range before {
		a, ok := after[name]
		switch {
		case !ok:
			t.Errorf("restore Job %s is gone after the upgrade", name)
		case a.UID != j.UID:
			t.Errorf("restore Job %s was re-created by the upgrade: it would restore a second time", name)
		case a.Spec.Template.Annotations["upgraded"] != "":
			t.Errorf("restore Job %s was changed by the upgrade", name)
		}
	}

	// Another backup id is another restore: a new Job beside the finished one.
	helm(append(append([]string{"upgrade", releaseName, chartDir(), "--namespace", namespace}, values...),
		"--set", "vault.restore.snapshot=vault-20261124T000000Z-ffff")...)
	third := restoreJobs()
	if len(third) != len(before)+1 {
		t.Fatalf("after asking for another snapshot: %d restore Jobs, want %d", len(third), len(before)+1)
	}
	for name := range before {
		if _, ok := third[name]; !ok {
			t.Errorf("restore Job %s was deleted when another snapshot was asked for; its logs are gone", name)
		}
	}

	helm("uninstall", releaseName, "--namespace", namespace)
	if left := restoreJobs(); len(left) != len(third) {
		t.Errorf("helm uninstall deleted restore Jobs: %d left of %d", len(left), len(third))
	}
}
