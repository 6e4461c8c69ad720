package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/drill"
	"github.com/lifeboat-backup/lifeboat/internal/recovery"
)

type recoverOptions struct {
	backup       string
	from         string
	path         string
	toPath       string
	apply        bool
	tokenFile    string
	identityFile string
}

func newRecoverCmd() *cobra.Command {
	opts := &recoverOptions{}
	cmd := &cobra.Command{
		Use:   "recover <vault-source> --path <kv-path>",
		Short: "Bring single KV secrets back from a backup into the live Vault",
		Long: `Recover individual KV secrets (a path, or every secret below a prefix) from a backup
without restoring the whole cluster.

The backup is restored into a scratch Vault started from drill.vault.binary on 127.0.0.1
(unsealed with drill.vault.unsealKeys, read with drill.vault.token or the source's
token), the secrets under --path are read there, and compared with the live Vault. By
default nothing is written: the plan is printed. With --apply the created or changed
secrets are written into the live Vault (a new version on KV v2); nothing else is touched.
A KV v2 secret that was deleted or destroyed when the backup was taken is listed as "skip"
and never written.
The scratch Vault and its data are deleted afterwards.

Exit codes:
  0  planned (dry run) or applied
  1  failed
  3  bad flags, arguments or configuration`,
		Example: `  lifeboat recover vault --path secret/data/app            # dry run: what would change
  lifeboat recover vault --path secret/data/app --apply --token-file ./writer-token
  lifeboat recover vault --backup vault-20261123T101500Z-1a2b --path secret/data/app/db --to-path secret/data/app/db-restored --apply`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRecover(cmd, args[0], opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.backup, "backup", "latest", "backup id or \"latest\"")
	f.StringVar(&opts.from, "from", "", "destination to read the backup from (default: the first that has it)")
	f.StringVar(&opts.path, "path", "", "KV API path of a secret or a prefix, e.g. secret/data/app (required)")
	f.StringVar(&opts.toPath, "to-path", "", "write to this path in the live Vault instead of --path")
	f.BoolVar(&opts.apply, "apply", false, "write the changes (default: dry run)")
	f.StringVar(&opts.tokenFile, "token-file", "", "token for the live Vault with write access to the paths (default: the source's auth)")
	f.StringVar(&opts.identityFile, "identity-file", "", "age identity file for encrypted backups")
	_ = cmd.MarkFlagRequired("path")
	return cmd
}

func runRecover(cmd *cobra.Command, name string, opts *recoverOptions) error {
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	src, err := vaultSource(a, name)
	if err != nil {
		return err
	}
	if src.Drill == nil || src.Drill.Vault == nil {
		return usageError("recover needs sources[%s].drill.vault (scratch binary and the original unseal keys)", name)
	}
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	b, err := chooseBackup(ctx, a, src.Name, opts.backup, opts.from, opts.identityFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restoring %s into a scratch Vault ...\n", b.label)
	sv, err := drill.OpenScratchVault(ctx, a, src, func() (io.ReadCloser, error) { return b.open(ctx) })
	if err != nil {
		return err
	}
	defer sv.Stop()
	restored := sv.Client
	live, err := liveVault(ctx, src, opts.tokenFile)
	if err != nil {
		return err
	}
	changes, err := recovery.Plan(ctx, restored, live, opts.path, opts.toPath)
	if err != nil {
		return err
	}
	pending := 0
	for _, ch := range changes {
		if ch.Note != "" {
			fmt.Fprintf(out, "  %-9s %s: %s", ch.Action, ch.From, ch.Note)
		} else {
			fmt.Fprintf(out, "  %-9s %s (keys: %s)", ch.Action, ch.To, strings.Join(ch.Keys, ", "))
			if ch.To != ch.From {
				fmt.Fprintf(out, " from %s", ch.From)
			}
		}
		fmt.Fprintln(out)
		if ch.Writes() {
			pending++
		}
	}
	if !opts.apply {
		fmt.Fprintf(out, "dry run: %d of %d secrets would be written; rerun with --apply\n", pending, len(changes))
		return nil
	}
	if err := recovery.Apply(ctx, live, changes); err != nil {
		return err
	}
	fmt.Fprintf(out, "recovered %d secrets from %s\n", pending, b.label)
	return nil
}

// liveVault is an API client for the live cluster's leader, logged in.
func liveVault(ctx context.Context, src *config.Source, tokenFile string) (*vaultapi.Client, error) {
	vcfg := *src.Vault
	if tokenFile != "" {
		vcfg.Auth = config.VaultAuth{Method: config.AuthToken, Token: config.Secret{File: tokenFile}}
	}
	vsrc := *src
	vsrc.Vault = &vcfg
	c, err := app.VaultClient(&vsrc)
	if err != nil {
		return nil, usageError("%w", err)
	}
	return c.LeaderAPI(ctx)
}
