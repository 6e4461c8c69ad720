package helm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// The azure values: every lifeboat pod carries the Workload Identity label, the service
// account the client id, the SAS token is mounted from its Secret and named in the config,
// and the network policy lets the pods reach Azure.
func TestAzureValues(t *testing.T) {
	objs := renderedObjects(t, valueSetNamed("azure"))
	raw, cfg := configOf(t, objs)
	pods := podTemplates(objs)
	if len(pods) == 0 {
		t.Fatal("no pods")
	}
	for name, pod := range pods {
		if pod.Labels["azure.workload.identity/use"] != "true" {
			t.Errorf("%s: no azure.workload.identity/use label: %v", name, pod.Labels)
		}
	}
	sas := byKind[*corev1.ServiceAccount](objs)
	if len(sas) != 1 || sas[0].Annotations["azure.workload.identity/client-id"] != "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("service accounts %+v: want one annotated with the client id", sas)
	}

	primary, err := cfg.Destination("azure-primary")
	if err != nil {
		t.Fatal(err)
	}
	if a := primary.Azure; a == nil || a.Account != "acmebackups" || a.Container != "vault-backups" || a.AccountKey.IsSet() ||
		a.SASToken.IsSet() || a.Endpoint != "https://acmebackups.blob.core.windows.net" || primary.Prefix != "prod" {
		t.Fatalf("azure-primary = %+v (%+v): want the identity chain, no key or SAS", primary, primary.Azure)
	}
	dr, err := cfg.Destination("azure-dr")
	if err != nil {
		t.Fatal(err)
	}
	if a := dr.Azure; a == nil || a.SASToken.File != "/etc/lifeboat/secrets/azure-azure-dr/sas-token" || a.AccountKey.IsSet() || a.BlockSizeMiB != 32 {
		t.Fatalf("azure-dr = %+v: want the SAS token file", dr.Azure)
	}
	if strings.Contains(raw, "accountKey") {
		t.Errorf("the config names an account key no value asked for:\n%s", raw)
	}

	nps := byKind[*networkingv1.NetworkPolicy](objs)
	if len(nps) != 1 {
		t.Fatalf("%d network policies", len(nps))
	}
	found := false
	for _, rule := range nps[0].Spec.Egress {
		for _, p := range rule.Ports {
			if p.Port != nil && p.Port.IntValue() == 443 && len(rule.To) == 0 {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no egress rule to any address on 443 for Azure: %+v", nps[0].Spec.Egress)
	}
}

// Mistakes in azure values fail the install with a message naming the value.
func TestAzureValuesErrors(t *testing.T) {
	helmBin(t)
	base := valueSetNamed("azure").paths()[0]
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"no container", []string{"destinations={name: a, type: azure, account: acct}"}, "destinations[0].container: required for type azure"},
		{"no account", []string{"destinations={name: a, type: azure, container: backups}"}, "destinations[0].account: required for type azure"},
		{"key and SAS", []string{"destinations[1].secretRef.accountKeyKey=k"}, "destinations[1].secretRef: set accountKeyKey or sasTokenKey, not both"},
		{"bucket", []string{"destinations[0].bucket=b"}, "destinations[0].bucket: only for type s3"},
		{"workload identity without client id", []string{"serviceAccount.azureWorkloadIdentity.clientID="}, "serviceAccount.azureWorkloadIdentity.clientID: required"},
		{"bad block size", []string{"destinations[0].blockSizeMiB=0"}, "blockSizeMiB"},
		{"bad container name", []string{"destinations[0].container=Vault_Backups"}, "/destinations/0/container"},
		{"unknown secretRef key", []string{"destinations[1].secretRef.sasKey=x"}, "sasKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", releaseName, chartDir(), "--values", base}
			for _, s := range tc.set {
				if list, ok := strings.CutPrefix(s, "destinations="); ok {
					// A whole list cannot be --set; it replaces the example's in a values file.
					f := filepath.Join(t.TempDir(), "values.yaml")
					if err := os.WriteFile(f, []byte("destinations: ["+list+"]\n"), 0o600); err != nil {
						t.Fatal(err)
					}
					args = append(args, "--values", f)
					continue
				}
				args = append(args, "--set", s)
			}
			_, errOut, err := runHelm(t, args...)
			if err == nil || !strings.Contains(errOut, tc.want) {
				t.Fatalf("helm template %v = %v, want an error containing %q:\n%s", tc.set, err, tc.want, errOut)
			}
		})
	}
}
