package main

import (
	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/restore"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
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

The backup is read and verified in full first (a copy that does not verify is skipped
for another copy, then for an older backup), then restored into a scratch Vault started
from drill.vault.binary, reached on a unix socket in a private temporary directory
(unsealed with drill.vault.unsealKeys, or by drill.vault.seal for an auto-unsealed
cluster; read with drill.vault.token or the source's token). The secrets under --path are read there and
compared with the live Vault. By default nothing is written: the plan is printed. With
--apply the created or changed secrets are written into the live Vault (a new version on
KV v2); nothing else is touched. A KV v2 secret that was deleted or destroyed when the
backup was taken is listed as "skip" and never written.
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
	addAllowUnsigned(cmd)
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
	env := source.Env{Logger: a.Logger, Out: cmd.OutOrStdout(), Clock: a.Clock}
	r, err := vault.NewRecover(src, vault.RecoverOptions{Path: opts.path, ToPath: opts.toPath, Apply: opts.apply, TokenFile: opts.tokenFile}, env)
	if err != nil {
		return classify(err)
	}
	_, err = restore.Run(cmd.Context(), a, restore.Request{
		Source: src.Name, Ref: opts.backup, From: opts.from, IdentityFile: opts.identityFile, Restore: r, Env: env,
	})
	return classify(err)
}
