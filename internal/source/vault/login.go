package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/kubernetes"
)

// Login authenticates with the configured method and checks the resulting token. It is
// called at the start of every run, so an expired token or rotated secret id is picked up
// without a restart (re-login instead of long-lived renewal).
func (c *Client) Login(ctx context.Context) error {
	a := c.opts.Auth
	if c.opts.Namespace != "" {
		c.api.SetNamespace(c.opts.Namespace)
		defer c.api.ClearNamespace()
	}
	switch a.Method {
	case "", AuthToken:
		if a.Token == nil {
			return errors.New("vault auth: no token source configured (set vault.auth.token.file or .env)")
		}
		token, err := a.Token()
		if err != nil {
			return fmt.Errorf("vault token: %w", err)
		}
		c.api.SetToken(strings.TrimSpace(token))
	case AuthAppRole:
		if err := c.loginAppRole(ctx, a); err != nil {
			return err
		}
	case AuthKubernetes:
		if err := c.loginKubernetes(ctx, a); err != nil {
			return err
		}
	default:
		return fmt.Errorf("vault auth: unknown method %q (use token, approle or kubernetes)", a.Method)
	}
	if _, err := c.api.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		var re *vaultapi.ResponseError
		if errors.As(err, &re) && re.StatusCode == 403 {
			return fmt.Errorf("vault at %s rejected the token (%s): it is wrong, expired or revoked; "+
				"provide a valid token via %s", c.opts.Address, strings.Join(re.Errors, "; "), describe(a))
		}
		return explain(c.opts.Address, "look up the token", err)
	}
	return nil
}

func (c *Client) loginAppRole(ctx context.Context, a Auth) error {
	if a.RoleID == nil || a.SecretID == nil {
		return errors.New("vault approle auth needs both roleID and secretID sources")
	}
	roleID, err := a.RoleID()
	if err != nil {
		return fmt.Errorf("vault approle role id: %w", err)
	}
	secretID, err := a.SecretID()
	if err != nil {
		return fmt.Errorf("vault approle secret id: %w", err)
	}
	mount := mountOr(a.MountPath, "approle")
	auth, err := approle.NewAppRoleAuth(strings.TrimSpace(roleID), &approle.SecretID{FromString: strings.TrimSpace(secretID)}, approle.WithMountPath(mount))
	if err != nil {
		return fmt.Errorf("vault approle auth: %w", err)
	}
	if _, err := c.api.Auth().Login(ctx, auth); err != nil {
		return fmt.Errorf("vault AppRole login at auth/%s failed: %w; check the role id and secret id (the secret id may be expired or used up) and the mount path",
			mount, loginCause(err))
	}
	return nil
}

func (c *Client) loginKubernetes(ctx context.Context, a Auth) error {
	if a.Role == "" {
		return errors.New("vault kubernetes auth needs a role (vault.auth.kubernetes.role)")
	}
	path := a.TokenPath
	if path == "" {
		path = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("vault kubernetes auth: service account token %s: %w; is automountServiceAccountToken disabled, or is lifeboat not running in a pod?", path, err)
	}
	mount := mountOr(a.MountPath, "kubernetes")
	auth, err := kubernetes.NewKubernetesAuth(a.Role, kubernetes.WithServiceAccountTokenPath(path), kubernetes.WithMountPath(mount))
	if err != nil {
		return fmt.Errorf("vault kubernetes auth: %w", err)
	}
	if _, err := c.api.Auth().Login(ctx, auth); err != nil {
		return fmt.Errorf("vault Kubernetes login at auth/%s as role %q failed: %w; check the role's bound service account names and namespaces",
			mount, a.Role, loginCause(err))
	}
	return nil
}

func loginCause(err error) error {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("vault says HTTP %d: %s", re.StatusCode, strings.Join(re.Errors, "; "))
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
