package app

import (
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

// VaultClient builds the API client for a vault source.
func VaultClient(src *config.Source) (*vault.Client, error) {
	v := src.Vault
	if v == nil {
		return nil, fmt.Errorf("source %s is not a vault source", src.Name)
	}
	auth := vault.Auth{Method: v.Auth.Method}
	switch v.Auth.Method {
	case config.AuthAppRole:
		ar := v.Auth.AppRole
		auth.MountPath = ar.MountPath
		auth.RoleID = ar.RoleID.Resolve
		auth.Describe = fmt.Sprintf("sources[%s].vault.auth.approle", src.Name)
		if ar.SecretID.IsSet() {
			auth.SecretID = ar.SecretID.Resolve
		} else {
			auth.SecretID = func() (string, error) { return "", nil }
		}
	case config.AuthKubernetes:
		k := v.Auth.Kubernetes
		auth.MountPath, auth.Role, auth.TokenPath = k.MountPath, k.Role, k.TokenPath
	default:
		auth.Token = v.Auth.Token.Resolve
		auth.Describe = v.Auth.Token.String()
	}
	return vault.New(vault.Options{
		Address: v.Address,
		Nodes:   v.Nodes,
		TLS: vault.TLS{
			CACert: v.CACert, ClientCert: v.ClientCert, ClientKey: v.ClientKey,
			ServerName: v.TLSServerName, SkipVerify: v.TLSSkipVerify,
		},
		Namespace: v.Namespace,
		Timeout:   v.Timeout.Duration,
		Auth:      auth,
	})
}

// Source builds the backup source for a configured source.
func (a *App) Source(name string) (*config.Source, source.Source, error) {
	src, err := a.Config.Source(name)
	if err != nil {
		return nil, nil, err
	}
	switch src.Kind {
	case config.KindVault:
		c, err := VaultClient(src)
		if err != nil {
			return nil, nil, err
		}
		return src, vault.NewSource(src.Name, c), nil
	case config.KindPostgres:
		ps, err := a.postgresSource(src)
		if err != nil {
			return nil, nil, err
		}
		return src, ps, nil
	default:
		return src, nil, fmt.Errorf("source %s: backups of kind %q are not implemented in this version of lifeboat", src.Name, src.Kind)
	}
}
