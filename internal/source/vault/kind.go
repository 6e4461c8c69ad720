package vault

import (
	"context"
	"fmt"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Kind is the vault source kind: Vault or OpenBao on raft storage.
type Kind struct{}

var _ source.Kind = Kind{}

func (Kind) Name() string        { return config.KindVault }
func (Kind) RestoreFlag() string { return "snapshot" }

func (Kind) NewSource(src *config.Source) (source.Source, error) {
	c, err := ClientFor(src)
	if err != nil {
		return nil, err
	}
	return NewSource(src.Name, c).WithCompression(src.Vault.Compression, src.StallTimeout.Duration), nil
}

// Check inspects a whole snapshot: gzip, tar, each file against SHA256SUMS.
func (Kind) Check(_ context.Context, _ *config.Source, r io.Reader) (string, error) {
	info, err := InspectSnapshot(r)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("raft snapshot index %d, term %d, SHA256SUMS ok", info.Index, info.Term), nil
}

func (Kind) Describe(m *catalog.Manifest) string {
	v := m.Vault
	if v == nil {
		return "raft snapshot"
	}
	return fmt.Sprintf("raft snapshot of %s %s, index %d, term %d", v.LeaderAddress, v.Version, v.RaftIndex, v.RaftTerm)
}

func (Kind) Restore(src *config.Source, o source.RestoreOptions, env source.Env) (source.Restore, error) {
	if src.Vault == nil {
		return nil, fmt.Errorf("%w: source %s has no vault settings", source.ErrUsage, src.Name)
	}
	return &liveRestore{src: src, opts: o, env: env}, nil
}

func (Kind) Drill(src *config.Source, env source.Env) (source.Restore, error) {
	if src.Drill == nil || src.Drill.Vault == nil {
		return nil, fmt.Errorf("%w: source %s has no drill configuration (sources[].drill.vault with the original unseal keys); see examples/lifeboat.yaml", source.ErrUsage, src.Name)
	}
	return &drill{src: src, env: env}, nil
}
