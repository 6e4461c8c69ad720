package vault

import (
	"context"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// drill restores a backup into a scratch Vault/OpenBao started from drill.vault.binary,
// unseals it with the original keys, and checks drill.vault.mounts and secrets.
type drill struct {
	src *config.Source
	env source.Env
}

func (d *drill) Prepare(context.Context) error               { return nil }
func (d *drill) Check(context.Context, *source.Backup) error { return nil }

func (d *drill) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	sv, err := OpenScratch(ctx, d.src, d.env, b.Open)
	if err != nil {
		return nil, err
	}
	defer sv.Stop()
	c := sv.Client
	checks := []source.Check{source.NewCheck("restore", true, "snapshot restored into a scratch instance and unsealed with the original keys")}
	want := d.src.Drill.Vault
	if len(want.Mounts) > 0 {
		present := map[string]bool{}
		if mounts, err := c.Sys().ListMountsWithContext(ctx); err == nil {
			for p := range mounts {
				present[p] = true
			}
		} else {
			checks = append(checks, source.NewCheck("list secret engines", false, "%v", err))
		}
		if auths, err := c.Sys().ListAuthWithContext(ctx); err == nil {
			for p := range auths {
				present[p] = true
			}
		} else {
			checks = append(checks, source.NewCheck("list auth methods", false, "%v", err))
		}
		for _, m := range want.Mounts {
			m = strings.Trim(m, "/") + "/"
			checks = append(checks, source.NewCheck("mount "+m, present[m], "%s", map[bool]string{true: "present", false: "missing"}[present[m]]))
		}
	}
	for _, path := range want.Secrets {
		sec, err := c.Logical().ReadWithContext(ctx, strings.Trim(path, "/"))
		switch {
		case err != nil:
			checks = append(checks, source.NewCheck("secret "+path, false, "%v", err))
		case sec == nil || len(sec.Data) == 0:
			checks = append(checks, source.NewCheck("secret "+path, false, "missing"))
		default:
			checks = append(checks, source.NewCheck("secret "+path, true, "readable"))
		}
	}
	return checks, nil
}
