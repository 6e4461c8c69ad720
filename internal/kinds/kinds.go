// Package kinds is the one list of source kinds. Adding a kind means writing its package
// (a source.Kind) and adding it here; nothing else switches on a source's kind.
package kinds

import (
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/source/kubernetes"
	"github.com/lifeboat-backup/lifeboat/internal/source/postgres"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

var all = []source.Kind{
	vault.Kind{},
	postgres.Kind{},
	kubernetes.Kind{},
}

// Get returns the kind named name.
func Get(name string) (source.Kind, error) {
	for _, k := range all {
		if k.Name() == name {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: source kind %q is not implemented in this version of lifeboat", source.ErrUsage, name)
}

// Of returns the kind of a configured source.
func Of(src *config.Source) (source.Kind, error) {
	k, err := Get(src.Kind)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src.Name, err)
	}
	return k, nil
}

// Names lists every kind, in registration order.
func Names() []string {
	names := make([]string, 0, len(all))
	for _, k := range all {
		names = append(names, k.Name())
	}
	return names
}
