package drill

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
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
	ids, err := a.IdentitiesFor(loc.Manifest.Encryption != nil, identityFile)
	if err != nil {
		return err
	}
	sv, err := OpenScratchVault(ctx, a, src, func() (io.ReadCloser, error) {
		return pipeline.OpenBackup(ctx, loc.Dest.Store, loc.Manifest, ids)
	})
	if err != nil {
		return err
	}
	defer sv.Stop()
	c := sv.Client
	r.check("restore", true, "snapshot restored into a scratch instance and unsealed with the original keys")
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
