package drill

import (
	"context"
	"fmt"
	"io"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/scratch"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

// ScratchVault is a running scratch Vault holding a restored backup, with a client that
// reads it using a token of the backed-up cluster. Stop deletes it.
type ScratchVault struct {
	Client *vaultapi.Client
	server *scratch.Vault
}

// Stop kills the scratch server and deletes its data.
func (s *ScratchVault) Stop() { s.server.Stop() }

// OpenScratchVault starts a scratch Vault from src's drill.vault settings (binary,
// original unseal keys, reading token), restores the snapshot open returns into it and
// unseals it. Drills and single-secret recovery share it.
//
// HashiCorp Vault 1.19+ sometimes marks a node that just took a snapshot from another
// cluster as removed from its HA cluster and then refuses to unseal
// (hashicorp/vault#31933); it depends on timing and shows under load. The scratch server
// is ours to throw away, so that one failure is retried once with a fresh server and a
// fresh read of the backup.
func OpenScratchVault(ctx context.Context, a *app.App, src *config.Source, open func() (io.ReadCloser, error)) (*ScratchVault, error) {
	sv, err := openScratchVault(ctx, a, src, open)
	if err != nil && strings.Contains(err.Error(), "node was removed from a HA cluster") {
		a.Logger.Warn("the scratch Vault refused to unseal after the restore (hashicorp/vault#31933); trying once more with a new scratch server", "error", err)
		sv, err = openScratchVault(ctx, a, src, open)
	}
	return sv, err
}

func openScratchVault(ctx context.Context, a *app.App, src *config.Source, open func() (io.ReadCloser, error)) (*ScratchVault, error) {
	if src.Drill == nil || src.Drill.Vault == nil {
		return nil, fmt.Errorf("sources[%s].drill.vault is not configured: a scratch Vault needs the server binary and the original unseal keys", src.Name)
	}
	d := src.Drill.Vault
	keysText, err := d.UnsealKeys.Resolve()
	if err != nil {
		return nil, fmt.Errorf("drill.vault.unsealKeys: %w", err)
	}
	keys, err := vault.ParseUnsealKeys([]byte(keysText))
	if err != nil {
		return nil, fmt.Errorf("drill.vault.unsealKeys: %w", err)
	}
	tokenSecret := d.Token
	if !tokenSecret.IsSet() {
		tokenSecret = src.Vault.Auth.Token
	}
	token, err := tokenSecret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("drill.vault.token (a token valid in the backed-up cluster): %w", err)
	}
	binary := d.Binary
	if binary == "" {
		binary = "bao"
	}
	sv, err := scratch.StartVault(ctx, scratch.VaultOptions{Binary: binary, Logger: a.Logger})
	if err != nil {
		return nil, err
	}
	snapshot, err := open()
	if err != nil {
		sv.Stop()
		return nil, err
	}
	err = sv.LoadSnapshot(ctx, snapshot, keys)
	snapshot.Close()
	if err != nil {
		sv.Stop()
		return nil, err
	}
	c, err := sv.Client(strings.TrimSpace(token))
	if err != nil {
		sv.Stop()
		return nil, err
	}
	if _, err := c.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		sv.Stop()
		return nil, fmt.Errorf("the drill token is not valid in the restored data (%v): set drill.vault.token to a token of the backed-up cluster", err)
	}
	return &ScratchVault{Client: c, server: sv}, nil
}
