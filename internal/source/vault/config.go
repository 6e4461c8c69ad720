package vault

import (
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// OptionsFor maps a vault source's config to the client's options: the one mapping, so
// that backup, restore, auto-restore and recover reach and log in to Vault alike.
func OptionsFor(src *config.Source) (Options, error) {
	v := src.Vault
	if v == nil {
		return Options{}, fmt.Errorf("%w: source %s is not a vault source", source.ErrUsage, src.Name)
	}
	auth := Auth{Method: v.Auth.Method}
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
	return Options{
		Address: v.Address,
		Nodes:   v.Nodes,
		TLS: TLS{
			CACert: v.CACert, ClientCert: v.ClientCert, ClientKey: v.ClientKey,
			ServerName: v.TLSServerName, SkipVerify: v.TLSSkipVerify,
		},
		Namespace: v.Namespace,
		Timeout:   v.Timeout.Duration,
		Auth:      auth,
	}, nil
}

// ClientFor is the API client of a vault source.
func ClientFor(src *config.Source) (*Client, error) {
	o, err := OptionsFor(src)
	if err != nil {
		return nil, err
	}
	return New(o)
}

// withOverrides is src with the restore's address and token instead of the configured
// ones.
func withOverrides(src *config.Source, address, tokenFile string) *config.Source {
	v := *src.Vault
	if address != "" {
		v.Address, v.Nodes = address, nil
	}
	if tokenFile != "" {
		v.Auth = config.VaultAuth{Method: config.AuthToken, Token: config.Secret{File: tokenFile}}
	}
	s := *src
	s.Vault = &v
	return &s
}

// FirstNode is the node an auto-restore initialises by default: the first of vault.nodes,
// else vault.address.
func FirstNode(v *config.Vault) string {
	if len(v.Nodes) > 0 {
		return v.Nodes[0]
	}
	return v.Address
}
