package helm

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// renderObjects renders value files with --set pairs and decodes the objects.
func renderObjects(t *testing.T, files []string, sets ...string) []object {
	t.Helper()
	return parseObjects(t, render(t, files, sets...))
}

func onlyNetworkPolicy(t *testing.T, objs []object) *networkingv1.NetworkPolicy {
	t.Helper()
	nps := byKind[*networkingv1.NetworkPolicy](objs)
	if len(nps) != 1 {
		t.Fatalf("want exactly one NetworkPolicy by default, got %d", len(nps))
	}
	return nps[0]
}

// The chart's defaults are the hardened ones: a NetworkPolicy in every mode, no ingress
// to backup pods, the agent's port only from Prometheus (and whoever ingressFrom names),
// egress open, and no read-only API open to anyone.
func TestHardenedDefaults(t *testing.T) {
	helmBin(t)
	t.Run("cronjob", func(t *testing.T) {
		objs := renderedObjects(t, valueSetNamed("minimal"))
		np := onlyNetworkPolicy(t, objs)
		if len(np.Spec.Ingress) != 0 || !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Egress) != 0 {
			t.Errorf("cronjob mode: want Ingress-only policy with no rule (nothing connects to backup pods) and open egress, got %+v", np.Spec)
		}
	})
	t.Run("agent", func(t *testing.T) {
		objs := renderedObjects(t, valueSetNamed("agent"))
		_, cfg := configOf(t, objs)
		if cfg.Server.OpenReadOnly {
			t.Error("agent: server.openReadOnly is on by default: status, listings and /metrics open to anyone who reaches the port")
		}
		np := onlyNetworkPolicy(t, objs)
		if len(np.Spec.Ingress) != 1 {
			t.Fatalf("agent: want one ingress rule (the agent's port), got %+v", np.Spec.Ingress)
		}
		from := np.Spec.Ingress[0].From
		if len(from) != 1 || from[0].NamespaceSelector == nil || from[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" ||
			from[0].PodSelector == nil || from[0].PodSelector.MatchLabels["app.kubernetes.io/name"] != "prometheus" {
			t.Errorf("agent: the port must accept only Prometheus by default, got from %+v", from)
		}
		if ports := np.Spec.Ingress[0].Ports; len(ports) != 1 || ports[0].Port.String() != "http" {
			t.Errorf("agent: ingress ports %+v, want the http port only", ports)
		}
	})
}

func TestNetworkPolicyOptions(t *testing.T) {
	helmBin(t)
	agent := valueSetNamed("agent").paths()
	for _, tc := range []struct {
		name  string
		sets  []string
		check func(t *testing.T, np *networkingv1.NetworkPolicy)
	}{
		{"ingressFrom adds peers to Prometheus", []string{"networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.team=ops"}, func(t *testing.T, np *networkingv1.NetworkPolicy) {
			if from := np.Spec.Ingress[0].From; len(from) != 2 || from[0].NamespaceSelector.MatchLabels["team"] != "ops" {
				t.Errorf("from = %+v, want the ops peer and Prometheus", from)
			}
		}},
		{"from anywhere", []string{"networkPolicy.ingressFromAnywhere=true"}, func(t *testing.T, np *networkingv1.NetworkPolicy) {
			if len(np.Spec.Ingress) != 1 || np.Spec.Ingress[0].From != nil {
				t.Errorf("ingress = %+v, want one rule without from", np.Spec.Ingress)
			}
		}},
		{"no peers at all", []string{"networkPolicy.metricsFrom=null"}, func(t *testing.T, np *networkingv1.NetworkPolicy) {
			if len(np.Spec.Ingress) != 0 {
				t.Errorf("ingress = %+v, want none (port-forward only)", np.Spec.Ingress)
			}
		}},
		{"restricted egress", []string{"networkPolicy.restrictEgress=true"}, func(t *testing.T, np *networkingv1.NetworkPolicy) {
			if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || len(np.Spec.Egress) < 2 {
				t.Errorf("policy types %v, %d egress rules: want Egress with DNS and the sources", np.Spec.PolicyTypes, len(np.Spec.Egress))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, onlyNetworkPolicy(t, renderObjects(t, agent, tc.sets...)))
		})
	}
	if nps := byKind[*networkingv1.NetworkPolicy](renderObjects(t, agent, "networkPolicy.enabled=false")); len(nps) != 0 {
		t.Errorf("networkPolicy.enabled=false still renders %d NetworkPolicies", len(nps))
	}
}

// agent.tls.secretName: the Secret is mounted, named in server.tls, and the probes and
// the ServiceMonitor speak HTTPS.
func TestAgentTLS(t *testing.T) {
	helmBin(t)
	objs := renderObjects(t, valueSetNamed("agent").paths(), "agent.tls.secretName=lifeboat-agent-tls",
		"metrics.serviceMonitor.tlsConfig.serverName=lifeboat-agent")
	_, cfg := configOf(t, objs)
	want := config.ServerTLS{CertFile: "/etc/lifeboat/secrets/server-tls/tls.crt", KeyFile: "/etc/lifeboat/secrets/server-tls/tls.key"}
	if cfg.Server.TLS == nil || *cfg.Server.TLS != want {
		t.Fatalf("server.tls = %+v, want %+v", cfg.Server.TLS, want)
	}
	pod := podTemplates(objs)["Deployment/lifeboat-agent"]
	if pod == nil {
		t.Fatal("no agent Deployment")
	}
	if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool {
		return v.Secret != nil && v.Secret.SecretName == "lifeboat-agent-tls"
	}) {
		t.Error("the TLS Secret is not a volume of the agent")
	}
	c := pod.Spec.Containers[0]
	if c.LivenessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS || c.ReadinessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Error("the probes do not use HTTPS")
	}
	var sm string
	for _, o := range objs {
		if o.gvk.Kind == "ServiceMonitor" {
			sm = string(o.yaml)
		}
	}
	if !strings.Contains(sm, "scheme: https") || !strings.Contains(sm, "serverName: lifeboat-agent") {
		t.Errorf("the ServiceMonitor does not scrape over HTTPS with the tlsConfig:\n%s", sm)
	}
}

// In agent mode drills are CronJobs by default, so the agent mounts none of their keys;
// agent.drillsIn=agent moves them (and the keys) into the agent.
func TestAgentDrillsAreCronJobs(t *testing.T) {
	helmBin(t)
	files := valueSetNamed("agent").paths()
	drills := []string{"vault.drill.enabled=true", "vault.drill.unsealKeysSecretRef.name=vault-unseal-keys",
		"encryption.age.recipients[0]=age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
		"encryption.age.identitySecretRef.name=lifeboat-age"}
	for _, tc := range []struct {
		drillsIn  string
		cronJob   bool
		agentKeys bool
	}{{"cronjob", true, false}, {"agent", false, true}} {
		t.Run(tc.drillsIn, func(t *testing.T) {
			objs := renderObjects(t, files, append(drills, "agent.drillsIn="+tc.drillsIn)...)
			_, cfg := configOf(t, objs)
			hasCronJob := slices.ContainsFunc(byKind[*batchv1.CronJob](objs), func(c *batchv1.CronJob) bool { return c.Name == "lifeboat-drill-vault" })
			if hasCronJob != tc.cronJob {
				t.Errorf("drill CronJob rendered: %v, want %v", hasCronJob, tc.cronJob)
			}
			src, err := cfg.Source("vault")
			if err != nil || src.Drill == nil {
				t.Fatalf("vault source without drill settings: %v", err)
			}
			if (src.Drill.Schedule != "") != tc.agentKeys {
				t.Errorf("drill schedule for serve %q with drillsIn %s", src.Drill.Schedule, tc.drillsIn)
			}
			agent := podTemplates(objs)["Deployment/lifeboat-agent"]
			for _, key := range []string{"age-identity", "vault-drill-unseal-keys"} {
				mounted := slices.ContainsFunc(agent.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == key })
				if mounted != tc.agentKeys {
					t.Errorf("agent mounts %s: %v, want %v", key, mounted, tc.agentKeys)
				}
			}
			if tc.cronJob {
				pod := podTemplates(objs)["CronJob/lifeboat-drill-vault"]
				if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "vault-drill-unseal-keys" }) {
					t.Error("the drill CronJob does not mount the unseal keys")
				}
			}
		})
	}
}

// vault.autoRestore reads the unseal keys as its own service account: the Role binds it,
// not Vault's, its token Secret is rendered, and the config points the Kubernetes client
// at that token (which the Vault chart's sidecar mounts, TestAutoRestoreSnippet).
func TestAutoRestoreOwnServiceAccount(t *testing.T) {
	helmBin(t)
	full := valueSetNamed("full").paths()
	for _, tc := range []struct {
		name    string
		sets    []string
		subject string
		own     bool
	}{
		{"own account (default)", nil, "lifeboat-auto-restore", true},
		{"Vault's account", []string{"vault.autoRestore.serviceAccount.create=false", "vault.autoRestore.serviceAccountName=vault"}, "vault", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := renderObjects(t, full, tc.sets...)
			var subjects []string
			for _, rb := range byKind[*rbacv1.RoleBinding](objs) {
				if rb.Namespace == "vault-recovery" {
					for _, s := range rb.Subjects {
						subjects = append(subjects, s.Namespace+"/"+s.Name)
					}
				}
			}
			if !slices.Equal(subjects, []string{"vault/" + tc.subject}) {
				t.Errorf("the unseal keys' RoleBinding binds %v, want vault/%s only", subjects, tc.subject)
			}
			var sa *corev1.ServiceAccount
			for _, a := range byKind[*corev1.ServiceAccount](objs) {
				if a.Namespace == "vault" && a.Name == "lifeboat-auto-restore" {
					sa = a
				}
			}
			var token *corev1.Secret
			for _, s := range byKind[*corev1.Secret](objs) {
				if s.Namespace == "vault" && s.Name == "lifeboat-auto-restore-token" {
					token = s
				}
			}
			if (sa != nil) != tc.own || (token != nil) != tc.own {
				t.Fatalf("service account rendered %v, token Secret %v, want %v", sa != nil, token != nil, tc.own)
			}
			if tc.own && (token.Type != corev1.SecretTypeServiceAccountToken || token.Annotations[corev1.ServiceAccountNameKey] != "lifeboat-auto-restore") {
				t.Errorf("token Secret %+v is not lifeboat-auto-restore's service account token", token)
			}
			var cfgText string
			for _, cm := range byKind[*corev1.ConfigMap](objs) {
				if cm.Namespace == "vault" {
					cfgText = cm.Data["lifeboat.yaml"]
				}
			}
			cfg, err := config.Parse([]byte(cfgText))
			if err != nil {
				t.Fatal(err)
			}
			src, _ := cfg.Source("vault")
			k := (*config.KubernetesAPI)(nil)
			if src.Restore != nil {
				k = src.Restore.Kubernetes
			}
			if tc.own != (k != nil && k.TokenFile == "/etc/lifeboat/auto-restore/token" && k.Server == "") {
				t.Errorf("auto-restore's Kubernetes API settings %+v (own account: %v)", k, tc.own)
			}
		})
	}
}
