package helm

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// rendered is one value set's objects, decoded once per test.
func renderedObjects(t *testing.T, v valueSet) []object {
	t.Helper()
	return parseObjects(t, renderSet(t, v))
}

// configOf returns the lifeboat config the chart put in its ConfigMap.
func configOf(t *testing.T, objs []object) (string, *config.Config) {
	t.Helper()
	for _, cm := range byKind[*corev1.ConfigMap](objs) {
		if cm.Name == releaseName {
			data := cm.Data["lifeboat.yaml"]
			cfg, err := config.Parse([]byte(data))
			if err != nil {
				t.Fatalf("the rendered config does not pass config.Parse: %v\n%s", err, data)
			}
			return data, cfg
		}
	}
	t.Fatal("no ConfigMap with the lifeboat config")
	return "", nil
}

// Every rendered object strictly decodes into its Kubernetes API type (parseObjects), the
// rendered config is valid for lifeboat, and the chart's promises hold for every value set.
func TestRenderedObjects(t *testing.T) {
	for _, v := range valueSets {
		t.Run(v.name, func(t *testing.T) {
			objs := renderedObjects(t, v)
			raw, cfg := configOf(t, objs)
			pods := podTemplates(objs)
			if len(pods) == 0 {
				t.Fatal("no workload rendered")
			}
			checkNoInlineSecrets(t, raw)
			for name, pod := range pods {
				checkPodSecurity(t, name, pod)
				checkMountedPaths(t, name, pod, cfg)
			}
			checkCronJobs(t, byKind[*batchv1.CronJob](objs))
			checkRBAC(t, byKind[*rbacv1.Role](objs))
			checkPlatformRBAC(t, objs)
			checkIdentityOnlyWhereRestoring(t, pods)
			checkRestoresSuspendBackups(t, objs)
			checkDestinationSecretsOptional(t, pods)
			switch v.name {
			case "minimal":
				wantKinds(t, objs, "ServiceAccount", "ConfigMap", "CronJob", "NetworkPolicy")
				if len(cfg.Sources) != 1 || len(cfg.Destinations) != 1 {
					t.Errorf("minimal: want 1 source and 1 destination, got %d and %d", len(cfg.Sources), len(cfg.Destinations))
				}
			case "full":
				wantKinds(t, objs, "ServiceAccount", "ConfigMap", "CronJob", "PersistentVolumeClaim",
					"Role", "RoleBinding", "NetworkPolicy", "PrometheusRule", "Secret")
				checkFull(t, objs, cfg)
			case "restore":
				wantKinds(t, objs, "ServiceAccount", "ConfigMap", "CronJob", "Job", "PersistentVolumeClaim",
					"Role", "RoleBinding", "NetworkPolicy", "PrometheusRule", "Secret")
				checkRestore(t, objs, cfg)
			case "platform", "platform-seed":
				wantKinds(t, objs, "ServiceAccount", "ConfigMap", "CronJob", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "NetworkPolicy")
				checkPlatform(t, objs, cfg)
			case "platform-restore":
				wantKinds(t, objs, "ServiceAccount", "ConfigMap", "CronJob", "Job", "ClusterRole", "ClusterRoleBinding", "NetworkPolicy")
				checkPlatformRestore(t, objs)
			case "transit":
				// No Role for keys (the auto-restore sidecar has none to read); one to
				// delete vault-0 (restartPod), which checkRBAC holds to that one pod.
				wantKinds(t, objs, "ServiceAccount", "ConfigMap", "CronJob", "Role", "RoleBinding", "NetworkPolicy", "Secret")
				checkTransit(t, objs, cfg)
			case "gcs":
				wantKinds(t, objs, "ServiceAccount", "ConfigMap", "CronJob", "NetworkPolicy")
				checkGCS(t, objs, cfg)
			case "agent":
				wantKinds(t, objs, "ServiceAccount", "ConfigMap", "Deployment", "Service", "PersistentVolumeClaim",
					"ServiceMonitor", "PrometheusRule", "NetworkPolicy")
				if cfg.Server.Listen != ":8080" || !cfg.Server.Token.IsSet() || cfg.Server.HistoryPath == "" {
					t.Errorf("agent: want server listening on :8080 with a token and a history path, got %+v", cfg.Server)
				}
				for _, s := range cfg.Sources {
					if s.Schedule == "" {
						t.Errorf("agent: source %s has no schedule for serve", s.Name)
					}
				}
			}
		})
	}
}

func wantKinds(t *testing.T, objs []object, kinds ...string) {
	t.Helper()
	var got []string
	for _, o := range objs {
		if !slices.Contains(got, o.gvk.Kind) {
			got = append(got, o.gvk.Kind)
		}
	}
	slices.Sort(got)
	slices.Sort(kinds)
	if !slices.Equal(got, kinds) {
		t.Errorf("rendered kinds %v, want %v", got, kinds)
	}
}

var secretRefRE = regexp.MustCompile(`(?m)^\s*(file|env):\s*(\S+)`)

// Credentials appear in the config only as {file: /etc/lifeboat/secrets/...} references.
func checkNoInlineSecrets(t *testing.T, raw string) {
	t.Helper()
	refs := secretRefRE.FindAllStringSubmatch(raw, -1)
	if len(refs) == 0 {
		t.Error("the config references no secret file at all")
	}
	for _, m := range refs {
		if m[1] != "file" || !strings.HasPrefix(m[2], "/etc/lifeboat/secrets/") {
			t.Errorf("secret reference %s: %s is not a file under /etc/lifeboat/secrets", m[1], m[2])
		}
	}
}

func checkPodSecurity(t *testing.T, name string, pod *corev1.PodTemplateSpec) {
	t.Helper()
	ps := pod.Spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0 {
		t.Errorf("%s: pod must run as a non-root uid", name)
	}
	if ps != nil && (ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		t.Errorf("%s: want seccompProfile RuntimeDefault", name)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%s: want one container, got %d", name, len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: container has no securityContext", name)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: root filesystem must be read-only", name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: privilege escalation must be off", name)
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("%s: capabilities must be drop [ALL], add none", name)
	}
	if !slices.Equal(c.Command, []string{"/usr/local/bin/lifeboat"}) {
		t.Errorf("%s: command %v", name, c.Command)
	}
	if pod.Spec.RestartPolicy != "" && pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s: Jobs must not restart in place (restartPolicy %s)", name, pod.Spec.RestartPolicy)
	}
}

var lifeboatPathRE = regexp.MustCompile(`/(etc|var/lib)/lifeboat/[A-Za-z0-9._/-]+`)

// Every path under /etc/lifeboat or /var/lib/lifeboat that the pod's arguments use, and
// every file of the config that the pod's work needs, is on a volume the pod mounts.
func checkMountedPaths(t *testing.T, name string, pod *corev1.PodTemplateSpec, cfg *config.Config) {
	t.Helper()
	c := pod.Spec.Containers[0]
	var paths []string
	for _, arg := range c.Args {
		paths = append(paths, lifeboatPathRE.FindAllString(arg, -1)...)
	}
	paths = append(paths, neededPaths(t, cfg, pod.Labels["app.kubernetes.io/component"])...)
	for _, p := range paths {
		if !mounted(c, pod.Spec.Volumes, p) {
			t.Errorf("%s: %s is not mounted", name, p)
		}
	}
}

// mounted reports whether path is provided by one of c's volume mounts: a file a Secret
// volume projects, the config file of a ConfigMap volume, or anything on a writable volume.
func mounted(c corev1.Container, volumes []corev1.Volume, path string) bool {
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			continue
		}
		v := volumes[i]
		if path == m.MountPath {
			return v.Secret == nil && v.ConfigMap == nil
		}
		rel, ok := strings.CutPrefix(path, m.MountPath+"/")
		switch {
		case !ok:
			continue
		case v.Secret != nil:
			return slices.ContainsFunc(v.Secret.Items, func(k corev1.KeyToPath) bool { return k.Path == rel })
		case v.ConfigMap != nil:
			return rel == "lifeboat.yaml"
		default:
			return true // a volume lifeboat writes into
		}
	}
	return false
}

// neededPaths lists the config's files that a pod of this component reads: its source's
// (drill settings only for drills), its destinations', the identity for restores and
// drills; the agent reads everything.
func neededPaths(t *testing.T, cfg *config.Config, component string) []string {
	t.Helper()
	if component == "agent" {
		js, _ := json.Marshal(cfg)
		return lifeboatPathRE.FindAllString(string(js), -1)
	}
	action, source, ok := strings.Cut(component, "-")
	if !ok {
		t.Fatalf("unexpected component %q", component)
	}
	src, err := cfg.Source(source)
	if err != nil {
		t.Fatal(err)
	}
	s := *src
	if action != "drill" {
		s.Drill = nil
	}
	dests, err := cfg.DestinationsFor(source)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal([]any{s, dests})
	paths := lifeboatPathRE.FindAllString(string(js), -1)
	if age := cfg.Encryption.Age; age != nil && age.IdentityFile != "" && action != "backup" {
		paths = append(paths, age.IdentityFile)
	}
	// Backups and drills send notifications; restores do not.
	if action == "backup" || action == "drill" {
		js, _ := json.Marshal(cfg.Notifications)
		paths = append(paths, lifeboatPathRE.FindAllString(string(js), -1)...)
	}
	return paths
}

func checkCronJobs(t *testing.T, cjs []*batchv1.CronJob) {
	t.Helper()
	for _, cj := range cjs {
		s := cj.Spec
		if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			t.Errorf("CronJob %s: concurrencyPolicy %s, want Forbid", cj.Name, s.ConcurrencyPolicy)
		}
		if s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil || s.StartingDeadlineSeconds == nil {
			t.Errorf("CronJob %s: history limits and startingDeadlineSeconds must be set", cj.Name)
		}
		j := s.JobTemplate.Spec
		if j.BackoffLimit == nil || j.ActiveDeadlineSeconds == nil {
			t.Errorf("CronJob %s: backoffLimit and activeDeadlineSeconds must be set", cj.Name)
		}
		if s.TimeZone == nil || *s.TimeZone != "Etc/UTC" {
			t.Errorf("CronJob %s: schedules are UTC, like the agent's", cj.Name)
		}
		if len(cj.Name) > 52 {
			t.Errorf("CronJob %s: name longer than 52 characters", cj.Name)
		}
	}
}

// RBAC names what it grants: deployments only by resourceNames, Secrets only get by name,
// never a wildcard.
func checkRBAC(t *testing.T, roles []*rbacv1.Role) {
	t.Helper()
	for _, r := range roles {
		if strings.HasSuffix(r.Labels["app.kubernetes.io/component"], "-platform-config") {
			continue // checkPlatformRBAC
		}
		for _, rule := range r.Rules {
			for _, s := range slices.Concat(rule.Verbs, rule.Resources, rule.APIGroups, rule.ResourceNames) {
				if s == "*" {
					t.Errorf("Role %s/%s: wildcard in %+v", r.Namespace, r.Name, rule)
				}
			}
			for _, res := range rule.Resources {
				switch res {
				case "deployments", "deployments/scale", "secrets":
					if len(rule.ResourceNames) == 0 {
						t.Errorf("Role %s/%s: %s without resourceNames", r.Namespace, r.Name, res)
					}
				case "pods":
					// list for restore.scaleDown; delete of exactly node 0's pod for
					// auto-restore --restart-pod.
					restart := slices.Equal(rule.Verbs, []string{"delete"}) && len(rule.ResourceNames) == 1
					if !slices.Equal(rule.Verbs, []string{"list"}) && !restart {
						t.Errorf("Role %s/%s: pods verbs %v on %v, want [list], or [delete] on one pod", r.Namespace, r.Name, rule.Verbs, rule.ResourceNames)
					}
				default:
					t.Errorf("Role %s/%s: unexpected resource %s", r.Namespace, r.Name, res)
				}
				if res == "secrets" && !slices.Equal(rule.Verbs, []string{"get"}) {
					t.Errorf("Role %s/%s: secrets verbs %v, want [get]", r.Namespace, r.Name, rule.Verbs)
				}
			}
		}
	}
}

// The age identity (private key) is mounted where restores and drills run, never into a
// backup pod.
func checkIdentityOnlyWhereRestoring(t *testing.T, pods map[string]*corev1.PodTemplateSpec) {
	t.Helper()
	for name, pod := range pods {
		for _, v := range pod.Spec.Volumes {
			if v.Name == "age-identity" && strings.Contains(name, "-backup-") {
				t.Errorf("%s: a backup pod mounts the age identity", name)
			}
		}
	}
}

func checkFull(t *testing.T, objs []object, cfg *config.Config) {
	t.Helper()
	// Two S3 buckets with different retention, and a file destination on a PVC.
	var buckets []string
	var retentions []string
	for _, d := range cfg.Destinations {
		if d.S3 != nil {
			buckets = append(buckets, d.S3.Bucket)
			retentions = append(retentions, d.Retention.String())
		}
	}
	if len(buckets) != 2 || buckets[0] == buckets[1] || retentions[0] == retentions[1] {
		t.Errorf("full: want two S3 buckets with different retention, got %v %v", buckets, retentions)
	}
	if !cfg.Encryption.Enabled() {
		t.Error("full: encryption is not on")
	}
	// The steady state: backups and drills scheduled, no restore.
	if jobs := byKind[*batchv1.Job](objs); len(jobs) != 0 {
		t.Errorf("full: %d restore Jobs; restores belong in lifeboat-restore.yaml", len(jobs))
	}
	cronJobs := map[string]bool{}
	for _, cj := range byKind[*batchv1.CronJob](objs) {
		cronJobs[cj.Name] = *cj.Spec.Suspend
	}
	for _, name := range []string{"lifeboat-backup-vault", "lifeboat-backup-workflows", "lifeboat-drill-vault", "lifeboat-drill-workflows"} {
		if suspended, ok := cronJobs[name]; !ok || suspended {
			t.Errorf("full: CronJob %s rendered %v, suspended %v; want it running", name, ok, suspended)
		}
	}
	// The auto-restore Role exactly the unseal-keys Secret. (dryrun_test.go asks the API
	// server what it grants.)
	roles := map[string]*rbacv1.Role{}
	for _, r := range byKind[*rbacv1.Role](objs) {
		roles[r.Namespace] = r
	}
	if len(roles) != 1 || roles["vault-recovery"] == nil {
		t.Fatalf("full: want a Role in namespace vault-recovery only, got %v", slices.Sorted(maps.Keys(roles)))
	}
	if r := roles["vault-recovery"].Rules; len(r) != 1 || !slices.Equal(r[0].ResourceNames, []string{"vault-unseal-keys"}) {
		t.Errorf("auto-restore Role rules %+v, want get on secret vault-unseal-keys only", r)
	}
	for _, b := range byKind[*rbacv1.RoleBinding](objs) {
		s := b.Subjects
		if len(s) != 1 || s[0].Kind != "ServiceAccount" || b.RoleRef.Kind != "Role" {
			t.Errorf("RoleBinding %s/%s must bind one ServiceAccount to a Role: %+v", b.Namespace, b.Name, b)
		}
	}
	// The auto-restore config: the Vault source and its S3 destinations only, no identity.
	for _, cm := range byKind[*corev1.ConfigMap](objs) {
		if cm.Namespace != "vault" {
			continue
		}
		ar, err := config.Parse([]byte(cm.Data["lifeboat.yaml"]))
		if err != nil {
			t.Fatalf("the auto-restore config does not pass config.Parse: %v", err)
		}
		if len(ar.Sources) != 1 || ar.Sources[0].Kind != config.KindVault || ar.Sources[0].Schedule != "" {
			t.Errorf("auto-restore config sources: %+v", ar.Sources)
		}
		if a := ar.Sources[0].Vault.Auth; a.Method != config.AuthToken || a.Token.File != "" {
			t.Errorf("auto-restore config: lifeboat's own Vault credentials must not reach the Vault pods: %+v", a)
		}
		for _, d := range ar.Destinations {
			if d.Kind != config.KindS3 {
				t.Errorf("auto-restore config has a %s destination the Vault pods cannot reach", d.Kind)
			}
		}
		if ar.Encryption.Age == nil || ar.Encryption.Age.IdentityFile == "" {
			t.Error("auto-restore config: encrypted backups need the identity to be restored unattended")
		}
		return
	}
	t.Error("full: no auto-restore ConfigMap in namespace vault")
}

// checkRestore checks the full values with lifeboat-restore.yaml on top.
func checkRestore(t *testing.T, objs []object, cfg *config.Config) {
	t.Helper()
	wf, err := cfg.Source("workflows")
	if err != nil || wf.Restore == nil || len(wf.Restore.ScaleDown) != 2 {
		t.Fatalf("restore: the workflows source has no scaleDown hooks: %v", err)
	}
	if !slices.Equal(wf.Restore.PassEnv, []string{"TZ"}) || len(wf.Restore.After) != 1 {
		t.Errorf("restore: hooks' passEnv %q and after %q, want [TZ] and one command", wf.Restore.PassEnv, wf.Restore.After)
	}
	// The restore Jobs restore what the values ask for, with the secrets they need.
	jobs := byKind[*batchv1.Job](objs)
	if len(jobs) != 2 {
		t.Fatalf("restore: want 2 restore Jobs, got %d", len(jobs))
	}
	for _, j := range jobs {
		args := strings.Join(j.Spec.Template.Spec.Containers[0].Args, " ")
		switch {
		case strings.Contains(args, "restore vault"):
			for _, want := range []string{"--snapshot vault-20261123T100000Z-1a2b", "--force", "--from s3-primary",
				"--token-file /etc/lifeboat/secrets/vault-restore-token/token",
				"--unseal-keys-file /etc/lifeboat/secrets/vault-restore-unseal-keys/unseal-keys"} {
				if !strings.Contains(args, want) {
					t.Errorf("vault restore Job args %q lack %q", args, want)
				}
			}
		case strings.Contains(args, "restore workflows --dump workflows-20261123T063000Z-9f8e"):
			if !strings.Contains(args, "--target-password-file /etc/lifeboat/secrets/pg-restore-password/password") {
				t.Errorf("workflows restore Job args %q: the restore must run as the owner role", args)
			}
		default:
			t.Errorf("unexpected restore Job args %q", args)
		}
		if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != 0 {
			t.Errorf("Job %s: a restore must not be retried blindly", j.Name)
		}
	}
	// The scale Role covers exactly the named Deployments, in their namespace, beside the
	// auto-restore Role of the full values.
	roles := map[string]*rbacv1.Role{}
	for _, r := range byKind[*rbacv1.Role](objs) {
		roles[r.Namespace] = r
	}
	if len(roles) != 2 || roles["vault-recovery"] == nil || roles["argo"] == nil {
		t.Fatalf("restore: want a Role in namespace vault-recovery and one in argo, got %v", slices.Sorted(maps.Keys(roles)))
	}
	want := []string{"workflow-controller", "argo-server"}
	for _, rule := range roles["argo"].Rules {
		if rule.Resources[0] != "pods" && !slices.Equal(rule.ResourceNames, want) {
			t.Errorf("Role rule %v: resourceNames %v, want %v", rule.Resources, rule.ResourceNames, want)
		}
	}
}

// The admin guide's rule (section 7): while a restore Job is rendered, no backup or drill
// runs — every CronJob is suspended, and the agent scaled to 0 — so a backup of the
// damaged or empty source never becomes "latest".
func checkRestoresSuspendBackups(t *testing.T, objs []object) {
	t.Helper()
	if len(byKind[*batchv1.Job](objs)) == 0 {
		return
	}
	for _, cj := range byKind[*batchv1.CronJob](objs) {
		if cj.Spec.Suspend == nil || !*cj.Spec.Suspend {
			t.Errorf("a restore Job is rendered, and CronJob %s is not suspended", cj.Name)
		}
	}
	for _, d := range byKind[*appsv1.Deployment](objs) {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
			t.Errorf("a restore Job is rendered, and the agent %s is not scaled to 0", d.Name)
		}
	}
}

// A destination's credentials are optional in the pod: one missing Secret must not keep
// the pod from starting, since lifeboat reports that destination as failed and backs up
// to the others. So are a notifier's: its deliveries fail, never the backup. Every other
// Secret is required: without it the pod's work cannot start.
func checkDestinationSecretsOptional(t *testing.T, pods map[string]*corev1.PodTemplateSpec) {
	t.Helper()
	for name, pod := range pods {
		for _, v := range pod.Spec.Volumes {
			if v.Secret == nil {
				continue
			}
			optional := v.Secret.Optional != nil && *v.Secret.Optional
			if dest := strings.HasPrefix(v.Name, "s3-") || strings.HasPrefix(v.Name, "gcs-") || strings.HasPrefix(v.Name, "azure-") || strings.HasPrefix(v.Name, "notify-"); optional != dest {
				t.Errorf("%s: Secret volume %s (%s) optional=%v, want %v", name, v.Name, v.Secret.SecretName, optional, dest)
			}
		}
	}
}

// The strict decoder the tests rely on rejects what a lenient one would drop silently.
func TestStrictDecodeRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\ndatta: {k: v}\n",
		"case mismatch":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\nData: {k: v}\n",
		"duplicate field": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\ndata: {k: v}\ndata: {k: w}\n",
		"nested unknown":  "apiVersion: batch/v1\nkind: Job\nmetadata: {name: a, namespace: b}\nspec: {backofLimit: 1, template: {spec: {containers: []}}}\n",
	} {
		if _, _, err := strictYAML.Decode([]byte(doc), nil, nil); err == nil {
			t.Errorf("%s: strict decode accepted\n%s", name, doc)
		}
	}
	if err := customDecode("PrometheusRule", []byte("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: a}\nspec: {groups: [{name: g, rules: [{alert: A, expr: up, fro: 5m}]}]}\n")); err == nil {
		t.Error("custom strict decode accepted an unknown rule field")
	}
}

// checkTransit checks the auto-unsealed cluster's values: the drill has the seal and no
// unseal keys, the seal's credential is a mounted file in the drill pod only, and the
// auto-restore config carries no drill settings.
func checkTransit(t *testing.T, objs []object, cfg *config.Config) {
	t.Helper()
	src, err := cfg.Source("vault")
	if err != nil {
		t.Fatal(err)
	}
	if src.Drill == nil || src.Drill.Vault == nil || src.Drill.Vault.Seal == nil {
		t.Fatalf("transit: the drill has no seal: %+v", src.Drill)
	}
	dv := src.Drill.Vault
	if dv.UnsealKeys.IsSet() {
		t.Errorf("transit: the drill has unseal keys %+v beside its seal", dv.UnsealKeys)
	}
	seal := dv.Seal
	wantParams := map[string]string{"address": "https://transit.vault-transit.svc:8200", "mount_path": "transit/",
		"key_name": "autounseal", "tls_ca_cert": "/etc/lifeboat/transit-ca/ca.crt"}
	if seal.Type != "transit" || !maps.Equal(seal.Parameters, wantParams) {
		t.Errorf("transit: seal %s %v, want transit %v", seal.Type, seal.Parameters, wantParams)
	}
	token := seal.Secrets["token"]
	if len(seal.Secrets) != 1 || token.File != "/etc/lifeboat/secrets/vault-drill-seal-token/token" {
		t.Fatalf("transit: seal secrets %+v, want only token from its mounted file", seal.Secrets)
	}
	// checkMountedPaths has made sure the drill pod mounts it; no other pod may.
	for name, pod := range podTemplates(objs) {
		drill := pod.Labels["app.kubernetes.io/component"] == "drill-vault"
		var secret string
		for _, v := range pod.Spec.Volumes {
			if v.Name == "vault-drill-seal-token" && v.Secret != nil {
				secret = v.Secret.SecretName
			}
		}
		switch {
		case drill && secret != "vault-transit-token":
			t.Errorf("transit: %s mounts the seal token from Secret %q, want vault-transit-token", name, secret)
		case !drill && secret != "":
			t.Errorf("transit: %s mounts the drill's seal token", name)
		}
	}
	found := false
	for _, cm := range byKind[*corev1.ConfigMap](objs) {
		if cm.Namespace != "vault" {
			continue
		}
		found = true
		ar, err := config.Parse([]byte(cm.Data["lifeboat.yaml"]))
		if err != nil {
			t.Fatalf("the auto-restore config does not pass config.Parse: %v", err)
		}
		if len(ar.Sources) != 1 || ar.Sources[0].Drill != nil {
			t.Errorf("transit: auto-restore config sources %+v, want the Vault source without drill settings", ar.Sources)
		}
	}
	if !found {
		t.Error("transit: no auto-restore ConfigMap in namespace vault")
	}
}
