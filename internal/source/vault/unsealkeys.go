package vault

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// UnsealKeys says where a cluster's original unseal keys are kept: a file (--unseal-keys-
// file), a config secret (drill.vault.unsealKeys) or a Kubernetes Secret
// ("namespace/name" with an optional ":key"). lifeboat only ever reads them. It is the one
// reader of unseal keys.
type UnsealKeys struct {
	File   string
	Config *config.Secret
	// ConfigField names Config in errors, e.g. "drill.vault.unsealKeys".
	ConfigField string
	Secret      string
	// API reaches the Kubernetes API for Secret; nil means in-cluster.
	API *config.KubernetesAPI
}

// Load reads and parses the keys (one per line, or the JSON of `operator init`).
func (u UnsealKeys) Load(ctx context.Context) ([]string, error) {
	given := 0
	for _, set := range []bool{u.File != "", u.Config != nil && u.Config.IsSet(), u.Secret != ""} {
		if set {
			given++
		}
	}
	switch {
	case given > 1:
		return nil, fmt.Errorf("%w: give the unseal keys as a file or a Kubernetes Secret, not both", source.ErrUsage)
	case u.File != "":
		data, err := os.ReadFile(u.File)
		if err != nil {
			return nil, fmt.Errorf("read unseal keys: %w", err)
		}
		keys, err := ParseUnsealKeys(data)
		if err != nil {
			return nil, fmt.Errorf("unseal keys in %s: %w", u.File, err)
		}
		return keys, nil
	case u.Config != nil && u.Config.IsSet():
		text, err := u.Config.Resolve()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u.ConfigField, err)
		}
		keys, err := ParseUnsealKeys([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u.ConfigField, err)
		}
		return keys, nil
	case u.Secret != "":
		return u.fromSecret(ctx)
	default:
		return nil, fmt.Errorf("%w: no unseal keys given: use --unseal-keys-file or --unseal-keys-secret", source.ErrUsage)
	}
}

func (u UnsealKeys) fromSecret(ctx context.Context) ([]string, error) {
	ref, key, _ := strings.Cut(u.Secret, ":")
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" {
		return nil, fmt.Errorf("%w: --unseal-keys-secret %q: use <namespace>/<name>[:<key>]", source.ErrUsage, u.Secret)
	}
	cfg, err := kube.FromConfig(u.API)
	if err != nil {
		return nil, err
	}
	client, err := kube.New(cfg)
	if err != nil {
		return nil, err
	}
	data, err := client.GetSecret(ctx, ns, name)
	if err != nil {
		return nil, fmt.Errorf("read unseal keys from Secret %s/%s: %w", ns, name, err)
	}
	if key == "" {
		if len(data) != 1 {
			keys := make([]string, 0, len(data))
			for k := range data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("%w: Secret %s/%s has keys %v: name the one holding the unseal keys as %s/%s:<key>", source.ErrUsage, ns, name, keys, ns, name)
		}
		for k := range data {
			key = k
		}
	}
	raw, ok := data[key]
	if !ok {
		return nil, fmt.Errorf("the Secret %s/%s has no key %q", ns, name, key)
	}
	parsed, err := ParseUnsealKeys(raw)
	if err != nil {
		return nil, fmt.Errorf("unseal keys in Secret %s/%s key %s: %w", ns, name, key, err)
	}
	return parsed, nil
}
