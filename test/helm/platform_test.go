package helm

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// platformRules returns every RBAC rule of the platform configuration's Roles and
// ClusterRoles, by component (backup-, restore-, drill-platform-config).
func platformRules(objs []object) map[string][]rbacv1.PolicyRule {
	out := map[string][]rbacv1.PolicyRule{}
	add := func(labels map[string]string, rules []rbacv1.PolicyRule) {
		if c := labels["app.kubernetes.io/component"]; strings.HasSuffix(c, "-platform-config") {
			out[c] = append(out[c], rules...)
		}
	}
	for _, r := range byKind[*rbacv1.Role](objs) {
		add(r.Labels, r.Rules)
	}
	for _, r := range byKind[*rbacv1.ClusterRole](objs) {
		add(r.Labels, r.Rules)
	}
	return out
}

// The platform configuration's RBAC: backups only get and list, restores and drills
// never delete (but the drill's scratch namespace) nor touch pods or workloads, no
// wildcard but "every resource of a listed API group".
func checkPlatformRBAC(t *testing.T, objs []object) {
	t.Helper()
	allowedVerbs := map[string][]string{
		"backup-platform-config":  {"get", "list"},
		"restore-platform-config": {"get", "create", "patch", "bind", "escalate"},
		"drill-platform-config":   {"get", "create", "patch", "bind", "escalate", "delete"},
	}
	for component, rules := range platformRules(objs) {
		for _, rule := range rules {
			for _, v := range rule.Verbs {
				if !slices.Contains(allowedVerbs[component], v) {
					t.Errorf("%s: verb %s in %+v", component, v, rule)
				}
				if v == "delete" && !slices.Equal(rule.Resources, []string{"namespaces"}) {
					t.Errorf("%s: delete on %v; only the drill's scratch namespace is deleted", component, rule.Resources)
				}
			}
			if slices.Contains(rule.APIGroups, "*") {
				t.Errorf("%s: wildcard API group in %+v", component, rule)
			}
			if slices.Contains(rule.Resources, "*") && (len(rule.APIGroups) != 1 || rule.APIGroups[0] == "") {
				t.Errorf("%s: wildcard resource outside one listed API group: %+v", component, rule)
			}
			for _, r := range rule.Resources {
				if r == "pods" || r == "deployments" || strings.Contains(r, "/") {
					t.Errorf("%s: %s is not configuration: %+v", component, r, rule)
				}
			}
		}
	}
}

// checkPlatform checks lifeboat-platform.yaml (and its seed-style twin): each
// platform-config pod runs as its own service account, with its token; the backups' Roles
// grant list on exactly lifeboat's default resources and the configured groups.
func checkPlatform(t *testing.T, objs []object, cfg *config.Config) {
	t.Helper()
	src, err := cfg.Source("platform-config")
	if err != nil || src.Kubernetes == nil {
		t.Fatalf("no kubernetes source platform-config in the config: %v", err)
	}
	if !slices.Equal(src.Kubernetes.Namespaces, []string{"argo"}) || src.Kubernetes.API != nil {
		t.Errorf("platform-config: want namespaces [argo] through the in-cluster API, got %+v", src.Kubernetes)
	}
	wantSA := map[string]string{
		"lifeboat-backup-vault":           "lifeboat",
		"lifeboat-backup-workflows":       "lifeboat",
		"lifeboat-backup-platform-config": "lifeboat-platform-config",
		"lifeboat-drill-platform-config":  "lifeboat-platform-config-drill",
	}
	cjs := byKind[*batchv1.CronJob](objs)
	if len(cjs) != len(wantSA) {
		t.Errorf("%d CronJobs, want %d", len(cjs), len(wantSA))
	}
	for _, cj := range cjs {
		spec := cj.Spec.JobTemplate.Spec.Template.Spec
		if spec.ServiceAccountName != wantSA[cj.Name] {
			t.Errorf("CronJob %s runs as %s, want %s", cj.Name, spec.ServiceAccountName, wantSA[cj.Name])
		}
		if strings.HasSuffix(cj.Name, "platform-config") && (spec.AutomountServiceAccountToken == nil || !*spec.AutomountServiceAccountToken) {
			t.Errorf("CronJob %s reads the cluster without its service account token", cj.Name)
		}
	}
	rules := platformRules(objs)
	if _, ok := rules["restore-platform-config"]; ok {
		t.Error("write permissions for a restore that is not enabled")
	}
	var listed []string
	for _, r := range byKind[*rbacv1.Role](objs) {
		if r.Namespace != "argo" {
			t.Errorf("Role %s/%s: the backups read namespace argo only", r.Namespace, r.Name)
		}
		for _, rule := range r.Rules {
			if !slices.Equal(rule.Verbs, []string{"list"}) {
				t.Errorf("read Role rule %+v: want list only", rule)
			}
			for _, res := range rule.Resources {
				id := res
				if rule.APIGroups[0] != "" {
					id += "." + rule.APIGroups[0]
				}
				listed = append(listed, id)
			}
		}
	}
	// The chart writes lifeboat's default resources into its Roles itself.
	want := append(slices.Clone(config.DefaultKubernetesResources), "*.argoproj.io")
	slices.Sort(want)
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		t.Errorf("the backups' Role lists %v, want lifeboat's defaults and the groups: %v", listed, want)
	}
}

// checkPlatformRestore checks lifeboat-platform.yaml + lifeboat-platform-restore.yaml: the
// restore Job runs as the restore account, which only now exists; the backups' namespaced
// read Roles are left out (the namespace may be gone), CronJobs suspended.
func checkPlatformRestore(t *testing.T, objs []object) {
	t.Helper()
	jobs := byKind[*batchv1.Job](objs)
	if len(jobs) != 1 {
		t.Fatalf("want 1 restore Job, got %d", len(jobs))
	}
	spec := jobs[0].Spec.Template.Spec
	args := strings.Join(spec.Containers[0].Args, " ")
	if !strings.Contains(args, "restore platform-config --resources platform-config-20261123T101500Z-3c4d --from platform-config-s3") {
		t.Errorf("restore Job args %q", args)
	}
	if spec.ServiceAccountName != "lifeboat-platform-config-restore" {
		t.Errorf("restore Job runs as %s", spec.ServiceAccountName)
	}
	if _, ok := platformRules(objs)["restore-platform-config"]; !ok {
		t.Error("no RBAC for the restore Job")
	}
}
