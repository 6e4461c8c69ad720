package app

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

// UnsealKeysRef says where the original unseal keys are kept: a file, or a Kubernetes
// Secret ("namespace/name" with an optional ":key"). lifeboat only ever reads them.
type UnsealKeysRef struct {
	File   string
	Secret string
	// API reaches the Kubernetes API for Secret; nil means in-cluster.
	API *config.KubernetesAPI
}

// Load reads and parses the keys.
func (r UnsealKeysRef) Load(ctx context.Context) ([]string, error) {
	switch {
	case r.File != "" && r.Secret != "":
		return nil, fmt.Errorf("%w: give the unseal keys as a file or a Kubernetes Secret, not both", ErrUsage)
	case r.File != "":
		data, err := os.ReadFile(r.File)
		if err != nil {
			return nil, fmt.Errorf("read unseal keys: %w", err)
		}
		keys, err := vault.ParseUnsealKeys(data)
		if err != nil {
			return nil, fmt.Errorf("unseal keys in %s: %w", r.File, err)
		}
		return keys, nil
	case r.Secret != "":
		return r.fromSecret(ctx)
	default:
		return nil, fmt.Errorf("%w: no unseal keys given: use --unseal-keys-file or --unseal-keys-secret", ErrUsage)
	}
}

func (r UnsealKeysRef) fromSecret(ctx context.Context) ([]string, error) {
	ref, key, _ := strings.Cut(r.Secret, ":")
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" {
		return nil, fmt.Errorf("%w: --unseal-keys-secret %q: use <namespace>/<name>[:<key>]", ErrUsage, r.Secret)
	}
	cfg, err := kube.FromConfig(r.API)
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
			return nil, fmt.Errorf("%w: Secret %s/%s has keys %v: name the one holding the unseal keys as %s/%s:<key>", ErrUsage, ns, name, keys, ns, name)
		}
		for k := range data {
			key = k
		}
	}
	raw, ok := data[key]
	if !ok {
		return nil, fmt.Errorf("the Secret %s/%s has no key %q", ns, name, key)
	}
	parsed, err := vault.ParseUnsealKeys(raw)
	if err != nil {
		return nil, fmt.Errorf("unseal keys in Secret %s/%s key %s: %w", ns, name, key, err)
	}
	return parsed, nil
}
