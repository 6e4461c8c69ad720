package vault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/kubernetes"
)

// loginFunc obtains a client token through cl (which carries no token yet).
type loginFunc func(ctx context.Context, cl *vaultapi.Client) (string, error)

// Login authenticates with the configured method and checks the resulting token. It is
// called at the start of every run, so an expired token or rotated secret id is picked up
// without a restart; a renewable token past half its TTL (a periodic token) is renewed.
//
// The configured addresses are tried in order: a node that is down, sealed or still
// starting (node 0 during a rolling restart) must not fail the run while others serve.
// A refusal of the credentials ends the attempt at once: every node would say the same.
func (c *Client) Login(ctx context.Context) error {
	login, err := c.loginMethod()
	if err != nil {
		return err
	}
	var problems []string
	cands := c.candidates()
	for i, addr := range cands {
		err := c.loginAt(ctx, addr, login)
		if err == nil {
			return nil
		}
		if nodeTrouble(err) && i < len(cands)-1 {
			problems = append(problems, err.Error())
			continue
		}
		if len(problems) > 0 {
			return fmt.Errorf("no configured vault node accepted the login: %s; %w", strings.Join(problems, "; "), err)
		}
		return err
	}
	return errors.New("vault: no address configured (set vault.address or vault.nodes)")
}

func (c *Client) loginAt(ctx context.Context, addr string, login loginFunc) error {
	cl, err := c.at(addr)
	if err != nil {
		return err
	}
	cl.ClearToken()
	if c.opts.Namespace != "" {
		cl.SetNamespace(c.opts.Namespace)
	}
	token, err := login(ctx, cl)
	if err != nil {
		return err
	}
	cl.SetToken(token)
	if err := c.checkToken(ctx, cl, addr); err != nil {
		return err
	}
	c.api.SetToken(token)
	return nil
}

// loginMethod reads the credentials once, before any node is contacted, so a missing
// file is reported as such and not as a problem of every node in turn.
func (c *Client) loginMethod() (loginFunc, error) {
	a := c.opts.Auth
	switch a.Method {
	case "", AuthToken:
		if a.Token == nil {
			return nil, errors.New("vault auth: no token source configured (set vault.auth.token.file or .env)")
		}
		token, err := a.Token()
		if err != nil {
			return nil, fmt.Errorf("vault token: %w", err)
		}
		token = strings.TrimSpace(token)
		return func(context.Context, *vaultapi.Client) (string, error) { return token, nil }, nil
	case AuthAppRole:
		return appRoleLogin(a)
	case AuthKubernetes:
		return kubernetesLogin(a)
	}
	return nil, fmt.Errorf("vault auth: unknown method %q (use token, approle or kubernetes)", a.Method)
}

func appRoleLogin(a Auth) (loginFunc, error) {
	if a.RoleID == nil {
		return nil, errors.New("vault approle auth needs a role id source (vault.auth.approle.roleID)")
	}
	roleID, err := a.RoleID()
	if err != nil {
		return nil, fmt.Errorf("vault approle role id: %w", err)
	}
	roleID = strings.TrimSpace(roleID)
	var secretID string
	if a.SecretID != nil {
		if secretID, err = a.SecretID(); err != nil {
			return nil, fmt.Errorf("vault approle secret id: %w", err)
		}
		secretID = strings.TrimSpace(secretID)
	}
	mount := mountOr(a.MountPath, "approle")
	if secretID == "" {
		// A role with bind_secret_id=false logs in with its role id alone; the approle
		// helper package refuses an empty secret id, so the login is written directly.
		return func(ctx context.Context, cl *vaultapi.Client) (string, error) {
			sec, err := cl.Logical().WriteWithContext(ctx, "auth/"+mount+"/login", map[string]any{"role_id": roleID})
			if err != nil && nodeTrouble(err) {
				return "", explain(cl.Address(), "log in at auth/"+mount, err)
			}
			if err == nil && (sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "") {
				err = errors.New("the login answer holds no client token")
			}
			if err != nil {
				return "", fmt.Errorf("vault AppRole login at auth/%s with a role id only (no secret id configured) failed: %w; "+
					"check the role id and mount path, and that the role has bind_secret_id=false with secret_id_bound_cidrs or token_bound_cidrs "+
					"covering lifeboat's address, or configure vault.auth.approle.secretID", mount, loginCause(err))
			}
			return sec.Auth.ClientToken, nil
		}, nil
	}
	auth, err := approle.NewAppRoleAuth(roleID, &approle.SecretID{FromString: secretID}, approle.WithMountPath(mount))
	if err != nil {
		return nil, fmt.Errorf("vault approle auth: %w", err)
	}
	return func(ctx context.Context, cl *vaultapi.Client) (string, error) {
		sec, err := cl.Auth().Login(ctx, auth)
		if err != nil && nodeTrouble(err) {
			return "", explain(cl.Address(), "log in at auth/"+mount, err)
		}
		if err != nil {
			return "", fmt.Errorf("vault AppRole login at auth/%s failed: %w; check the role id and secret id (the secret id may be expired or used up) and the mount path",
				mount, loginCause(err))
		}
		return sec.Auth.ClientToken, nil
	}, nil
}

func kubernetesLogin(a Auth) (loginFunc, error) {
	if a.Role == "" {
		return nil, errors.New("vault kubernetes auth needs a role (vault.auth.kubernetes.role)")
	}
	path := a.TokenPath
	if path == "" {
		path = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	}
	// Read at every login: the kubelet rotates projected tokens.
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vault kubernetes auth: service account token %s: %w; is automountServiceAccountToken disabled, or is lifeboat not running in a pod? (set vault.auth.kubernetes.tokenPath)", path, err)
	}
	jwt := strings.TrimSpace(string(data))
	mount := mountOr(a.MountPath, "kubernetes")
	auth, err := kubernetes.NewKubernetesAuth(a.Role, kubernetes.WithServiceAccountToken(jwt), kubernetes.WithMountPath(mount))
	if err != nil {
		return nil, fmt.Errorf("vault kubernetes auth: %w", err)
	}
	return func(ctx context.Context, cl *vaultapi.Client) (string, error) {
		sec, err := cl.Auth().Login(ctx, auth)
		if err != nil && nodeTrouble(err) {
			return "", explain(cl.Address(), "log in at auth/"+mount, err)
		}
		if err != nil {
			return "", fmt.Errorf("vault Kubernetes login at auth/%s as role %q failed: %w; %s",
				mount, a.Role, loginCause(err), kubernetesHint(jwt, path))
		}
		return sec.Auth.ClientToken, nil
	}, nil
}

// kubernetesHint names the service account the token belongs to, so the operator knows
// exactly what the role must be bound to.
func kubernetesHint(jwt, path string) string {
	const generic = "check the role's bound_service_account_names and bound_service_account_namespaces, " +
		"and the auth method's kubernetes_host, kubernetes_ca_cert and token_reviewer_jwt (the reviewer needs system:auth-delegator)"
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Sprintf("the token in %s is not a JWT; %s", path, generic)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	var claims struct {
		Sub string `json:"sub"`
	}
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return generic
	}
	ns, name, ok := strings.Cut(strings.TrimPrefix(claims.Sub, "system:serviceaccount:"), ":")
	if !ok || !strings.HasPrefix(claims.Sub, "system:serviceaccount:") {
		return generic
	}
	return fmt.Sprintf("the token in %s is for service account %q in namespace %q: the role must list it in bound_service_account_names and bound_service_account_namespaces "+
		"(or set vault.auth.kubernetes.role to a role bound to it); also check the auth method's kubernetes_host, kubernetes_ca_cert and token_reviewer_jwt "+
		"(the reviewer needs system:auth-delegator)", path, name, ns)
}

// checkToken looks the token up at addr and renews it when that is due.
func (c *Client) checkToken(ctx context.Context, cl *vaultapi.Client, addr string) error {
	sec, err := cl.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		var re *vaultapi.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusForbidden {
			return fmt.Errorf("vault at %s rejected the token (%w): it is wrong, expired or revoked; "+
				"provide a valid token via %s", addr, vaultSaid{re}, describe(c.opts.Auth))
		}
		return explain(addr, "look up the token", err)
	}
	renewIfDue(ctx, cl, addr, sec)
	return nil
}

// renewIfDue renews a renewable token once less than half of its TTL is left. A
// periodic token (the recommended backup credential) otherwise expires one period after
// it was last used, however often lifeboat runs. A failed renewal is only a warning:
// the token still works for this run.
func renewIfDue(ctx context.Context, cl *vaultapi.Client, addr string, self *vaultapi.Secret) {
	renewable, err := self.TokenIsRenewable()
	if err != nil || !renewable {
		return
	}
	ttl, err := self.TokenTTL()
	if err != nil || ttl <= 0 {
		return // ttl 0: the token never expires
	}
	full := seconds(self.Data["period"])
	if full == 0 {
		full = seconds(self.Data["creation_ttl"])
	}
	if full == 0 || ttl > full/2 {
		return
	}
	if _, err := cl.Auth().Token().RenewSelfWithContext(ctx, 0); err != nil {
		slog.WarnContext(ctx, "vault token renewal failed; it expires unless renewed, give the token's policy auth/token/renew-self (the default policy has it)",
			"address", addr, "ttl_left", ttl.String(), "error", loginCause(err).Error())
	}
}

// seconds reads a token field that Vault sends as a number of seconds.
func seconds(v any) time.Duration {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err == nil {
			return time.Duration(i) * time.Second
		}
	case float64:
		return time.Duration(n) * time.Second
	case string:
		if d, err := time.ParseDuration(n); err == nil {
			return d
		}
	}
	return 0
}

// loginCause shortens an API error to one line, keeping it in the chain.
func loginCause(err error) error {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("vault says %w", vaultSaid{re})
	}
	return err
}

func mountOr(mount, def string) string {
	mount = strings.Trim(mount, "/")
	if mount == "" {
		return def
	}
	return mount
}

func describe(a Auth) string {
	if a.Describe != "" {
		return a.Describe
	}
	return "vault.auth in the config"
}
