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
// original unseal keys, reading token), restores snapshot into it and unseals it. Drills
// and single-secret recovery share it.
func OpenScratchVault(ctx context.Context, a *app.App, src *config.Source, snapshot io.Reader) (*ScratchVault, error) {
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
	if err := sv.LoadSnapshot(ctx, snapshot, keys); err != nil {
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
