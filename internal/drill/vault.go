package drill

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/scratch"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

// Vault restores loc into a scratch Vault/OpenBao started from the configured binary,
// unseals it with the original keys, and checks the configured mounts and secrets.
func Vault(ctx context.Context, a *app.App, src *config.Source, loc app.Located, identityFile string) *Report {
	r := &Report{Source: src.Name, BackupID: loc.Manifest.ID, Destination: loc.Dest.Name, Started: time.Now().UTC()}
	defer func() { r.Duration = time.Since(r.Started) }()
	r.Err = vaultDrill(ctx, a, src, loc, identityFile, r)
	if r.Err == nil {
		r.Err = r.failedChecks()
	}
	return r
}

func vaultDrill(ctx context.Context, a *app.App, src *config.Source, loc app.Located, identityFile string, r *Report) error {
	d := src.Drill.Vault
	keysText, err := d.UnsealKeys.Resolve()
	if err != nil {
		return fmt.Errorf("drill.vault.unsealKeys: %w", err)
	}
	keys, err := vault.ParseUnsealKeys([]byte(keysText))
	if err != nil {
		return fmt.Errorf("drill.vault.unsealKeys: %w", err)
	}
	tokenSecret := d.Token
	if !tokenSecret.IsSet() {
		tokenSecret = src.Vault.Auth.Token
	}
	token, err := tokenSecret.Resolve()
	if err != nil {
		return fmt.Errorf("drill.vault.token (a token valid in the backed-up cluster): %w", err)
	}
	ids, err := a.IdentitiesFor(loc.Manifest.Encryption != nil, identityFile)
	if err != nil {
		return err
	}
	binary := d.Binary
	if binary == "" {
		binary = "bao"
	}
	sv, err := scratch.StartVault(ctx, scratch.VaultOptions{Binary: binary, Logger: a.Logger})
	if err != nil {
		return err
	}
	defer sv.Stop()
	body, err := pipeline.OpenBackup(ctx, loc.Dest.Store, loc.Manifest, ids)
	if err != nil {
		return err
	}
	err = sv.LoadSnapshot(ctx, body, keys)
	body.Close()
	if err != nil {
		return err
	}
	r.check("restore", true, "snapshot restored into a scratch instance and unsealed with the original keys")
	c, err := sv.Client(strings.TrimSpace(token))
	if err != nil {
		return err
	}
	if _, err := c.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		return fmt.Errorf("the drill token is not valid in the restored data (%v): set drill.vault.token to a token of the backed-up cluster", err)
	}
	if len(d.Mounts) > 0 {
		present := map[string]bool{}
		if mounts, err := c.Sys().ListMountsWithContext(ctx); err == nil {
			for p := range mounts {
				present[p] = true
			}
		} else {
			r.check("list secret engines", false, "%v", err)
		}
		if auths, err := c.Sys().ListAuthWithContext(ctx); err == nil {
			for p := range auths {
				present[p] = true
			}
		} else {
			r.check("list auth methods", false, "%v", err)
		}
		for _, m := range d.Mounts {
			m = strings.Trim(m, "/") + "/"
			r.check("mount "+m, present[m], "%s", map[bool]string{true: "present", false: "missing"}[present[m]])
		}
	}
	for _, path := range d.Secrets {
		sec, err := c.Logical().ReadWithContext(ctx, strings.Trim(path, "/"))
		switch {
		case err != nil:
			r.check("secret "+path, false, "%v", err)
		case sec == nil || len(sec.Data) == 0:
			r.check("secret "+path, false, "missing")
		default:
			r.check("secret "+path, true, "readable")
		}
	}
	return nil
}
