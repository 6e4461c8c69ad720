package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Kubernetes auth for real: the Vault's kubernetes auth method reviews lifeboat's
// service-account token with the test kube-apiserver (TokenReview), and lifeboat backs
// up with the token it gets. A role bound to another service account is refused with a
// message that names the account to bind.
func TestVaultKubernetesAuth(t *testing.T) {
	k := testenv.StartKube(t)
	const ns = "lifeboat"
	k.MustDo(http.MethodPost, "/api/v1/namespaces", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}, nil)
	for _, sa := range []string{"lifeboat", "someone-else", "vault-reviewer"} {
		k.MustDo(http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts", map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": sa}}, nil)
	}
	// The reviewer may call the TokenReview API, as the Vault docs require.
	k.MustDo(http.MethodPost, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": "vault-reviewer-auth-delegator"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "vault-reviewer", "namespace": ns}},
	}, nil)
	tokenFor := func(sa string) string {
		var tr struct {
			Status struct{ Token string } `json:"status"`
		}
		k.MustDo(http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts/"+sa+"/token", map[string]any{
			"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": map[string]any{"expirationSeconds": 3600},
		}, &tr)
		if tr.Status.Token == "" {
			t.Fatalf("no token issued for service account %s", sa)
		}
		return tr.Status.Token
	}
	reviewerJWT := tokenFor("vault-reviewer")
	saTokenFile := writeFile(t, filepath.Join(t.TempDir(), "sa-token"), tokenFor("lifeboat")+"\n")

	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		v := testenv.StartVault(t, flavor)
		root := v.Client()
		if err := root.Sys().EnableAuthWithOptions("kubernetes", &vaultapi.EnableAuthOptions{Type: "kubernetes"}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.Logical().Write("auth/kubernetes/config", map[string]any{
			"kubernetes_host":      k.URL,
			"kubernetes_ca_cert":   string(k.CAPEM),
			"token_reviewer_jwt":   reviewerJWT,
			"disable_local_ca_jwt": true,
		}); err != nil {
			t.Fatal(err)
		}
		if err := root.Sys().PutPolicy("snapshot", vault.SnapshotPolicy); err != nil {
			t.Fatal(err)
		}
		for role, sa := range map[string]string{"lifeboat": "lifeboat", "not-lifeboat": "someone-else"} {
			if _, err := root.Logical().Write("auth/kubernetes/role/"+role, map[string]any{
				"bound_service_account_names":      sa,
				"bound_service_account_namespaces": ns,
				"token_policies":                   "snapshot",
				"token_ttl":                        "10m",
			}); err != nil {
				t.Fatal(err)
			}
		}

		dir := t.TempDir()
		backups := filepath.Join(dir, "backups")
		config := func(role string) string {
			return writeFile(t, filepath.Join(dir, role+".yaml"), fmt.Sprintf(`
sources:
  - name: vault
    kind: vault
    vault:
      address: %s
      auth:
        method: kubernetes
        kubernetes: {role: %s, tokenPath: %s}
destinations:
  - name: local
    kind: file
    file: {path: %s}
`, v.Addr(), role, saTokenFile, backups))
		}
		good := config("lifeboat")
		// No VAULT_TOKEN may stand in for the Kubernetes login.
		env := []string{"VAULT_TOKEN="}
		mustRun(t, 0, env, "--config", good, "backup", "vault")
		mustRun(t, 0, env, "--config", good, "verify", "latest")
		r := mustRun(t, 0, env, "--config", good, "list", "vault")
		if n := strings.Count(r.stdout, "vault-"); n != 1 {
			t.Fatalf("want one committed backup, list shows %d:\n%s", n, r)
		}

		r = lifeboat(t, env, "--config", config("not-lifeboat"), "backup", "vault")
		if r.code == 0 {
			t.Fatalf("a role bound to another service account let lifeboat in:\n%s", r)
		}
		t.Logf("refused as expected:\n%s", r.stderr)
		for _, want := range []string{`Kubernetes login at auth/kubernetes as role "not-lifeboat" failed`, `service account "lifeboat" in namespace "lifeboat"`, "bound_service_account_names"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("error does not say %q:\n%s", want, r)
			}
		}
		r = mustRun(t, 0, env, "--config", good, "list", "vault")
		if n := strings.Count(r.stdout, "vault-"); n != 1 {
			t.Fatalf("the refused run changed what is stored (%d backups):\n%s", n, r)
		}
	})
}
