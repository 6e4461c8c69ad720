package vault

import (
	"context"
	"fmt"
	"io"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/scratch"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Scratch is a running scratch Vault holding a restored backup, with a client that reads
// it using a token of the backed-up cluster. Stop deletes it.
type Scratch struct {
	Client *vaultapi.Client
	server *scratch.Vault
}

// Stop kills the scratch server and deletes its data.
func (s *Scratch) Stop() { s.server.Stop() }

// OpenScratch starts a scratch Vault from src's drill.vault settings (binary, original
// unseal keys, reading token), restores the snapshot open returns into it and unseals it.
// Drills and single-secret recovery share it.
//
// HashiCorp Vault 1.19+ sometimes marks a node that just took a snapshot from another
// cluster as removed from its HA cluster and then refuses to unseal
// (hashicorp/vault#31933); it depends on timing and shows under load. The scratch server
// is ours to throw away, so that one failure is retried with a fresh server and a fresh
// read of the backup.
func OpenScratch(ctx context.Context, src *config.Source, env source.Env, open func(context.Context) (io.ReadCloser, error)) (*Scratch, error) {
	sv, err := openScratch(ctx, src, env, open)
	for attempt := 2; attempt <= scratchAttempts && err != nil && strings.Contains(err.Error(), "node was removed from a HA cluster"); attempt++ {
		env.Log().Warn("the scratch Vault refused to unseal after the restore (hashicorp/vault#31933); trying again with a new scratch server", "attempt", attempt, "error", err)
		sv, err = openScratch(ctx, src, env, open)
	}
	return sv, err
}

// scratchAttempts bounds the retries of hashicorp/vault#31933, which a loaded machine
// (a CI runner, a busy node) hits more than once in a row.
const scratchAttempts = 3

func openScratch(ctx context.Context, src *config.Source, env source.Env, open func(context.Context) (io.ReadCloser, error)) (*Scratch, error) {
	if src.Drill == nil || src.Drill.Vault == nil {
		return nil, fmt.Errorf("%w: sources[%s].drill.vault is not configured: a scratch Vault needs the server binary and the original unseal keys (or the cluster's auto-unseal seal)", source.ErrUsage, src.Name)
	}
	d := src.Drill.Vault
	var keys []string
	seal, err := sealStanza("drill.vault.seal", d.Seal)
	if err != nil {
		return nil, err
	}
	if d.Seal == nil {
		if keys, err = (UnsealKeys{Config: &d.UnsealKeys, ConfigField: "drill.vault.unsealKeys"}).Load(ctx); err != nil {
			return nil, err
		}
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
	sv, err := scratch.StartVault(ctx, scratch.VaultOptions{Binary: binary, Logger: env.Log(), Seal: seal})
	if err != nil {
		return nil, err
	}
	snapshot, err := open(ctx)
	if err != nil {
		sv.Stop()
		return nil, err
	}
	_, err = RestoreIntoUninitialised(ctx, Options{Address: sv.Addr}, snapshot, keys)
	snapshot.Close()
	if err != nil {
		if d.Seal != nil {
			// The seal's own complaint (a Transit 400, a KMS access denial) is in the
			// server's log, not in any API answer.
			err = fmt.Errorf("restore into the scratch instance: %w; check drill.vault.seal against the seal stanza of the backed-up cluster's server configuration; %s",
				err, sv.LogErrors("post snapshot restore"))
		} else {
			err = fmt.Errorf("restore into the scratch instance: %w; %s", err, sv.LogTail())
		}
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
	return &Scratch{Client: c, server: sv}, nil
}
