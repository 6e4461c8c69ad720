package vault

import (
	"context"
	"fmt"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/recovery"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// RecoverOptions are the choices of `lifeboat recover`.
type RecoverOptions struct {
	Path      string // KV API path of a secret or a prefix
	ToPath    string // write there in the live Vault instead of Path
	Apply     bool   // write; otherwise only the plan is printed
	TokenFile string // token for the live Vault, instead of the source's auth
}

// NewRecover prepares the recovery of single KV secrets: the backup is restored into a
// scratch Vault, the secrets under Path are compared with the live Vault and, with Apply,
// the created or changed ones are written there.
func NewRecover(src *config.Source, o RecoverOptions, env source.Env) (source.Restore, error) {
	if src.Vault == nil {
		return nil, fmt.Errorf("%w: source %s is not a vault source", source.ErrUsage, src.Name)
	}
	if src.Drill == nil || src.Drill.Vault == nil {
		return nil, fmt.Errorf("%w: recover needs sources[%s].drill.vault (scratch binary, and the original unseal keys or the cluster's auto-unseal seal)", source.ErrUsage, src.Name)
	}
	return &recoverSecrets{src: src, opts: o, env: env}, nil
}

type recoverSecrets struct {
	src  *config.Source
	opts RecoverOptions
	env  source.Env
	live *Client
}

func (r *recoverSecrets) Prepare(context.Context) error {
	c, err := ClientFor(withOverrides(r.src, "", r.opts.TokenFile))
	if err != nil {
		return fmt.Errorf("%w: %w", source.ErrUsage, err)
	}
	r.live = c
	return nil
}

func (r *recoverSecrets) Check(context.Context, *source.Backup) error { return nil }

func (r *recoverSecrets) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	r.env.Printf("restoring %s into a scratch Vault ...\n", b.Label)
	sv, err := OpenScratch(ctx, r.src, r.env, b.Open)
	if err != nil {
		return nil, err
	}
	defer sv.Stop()
	live, err := r.live.LeaderAPI(ctx)
	if err != nil {
		return nil, err
	}
	changes, err := recovery.Plan(ctx, sv.Client, live, r.opts.Path, r.opts.ToPath)
	if err != nil {
		return nil, err
	}
	pending := 0
	for _, ch := range changes {
		if ch.Note != "" {
			r.env.Printf("  %-9s %s: %s", ch.Action, ch.From, ch.Note)
		} else {
			r.env.Printf("  %-9s %s (keys: %s)", ch.Action, ch.To, strings.Join(ch.Keys, ", "))
			if ch.To != ch.From {
				r.env.Printf(" from %s", ch.From)
			}
		}
		r.env.Printf("\n")
		if ch.Writes() {
			pending++
		}
	}
	if !r.opts.Apply {
		r.env.Printf("dry run: %d of %d secrets would be written; rerun with --apply\n", pending, len(changes))
		return []source.Check{source.NewCheck("plan", true, "%d of %d secrets would be written", pending, len(changes))}, nil
	}
	if err := recovery.Apply(ctx, live, changes); err != nil {
		return nil, err
	}
	r.env.Printf("recovered %d secrets from %s\n", pending, b.Label)
	return []source.Check{source.NewCheck("apply", true, "%d secrets written", pending)}, nil
}
