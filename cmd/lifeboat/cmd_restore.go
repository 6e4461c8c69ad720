package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

type restoreOptions struct {
	snapshot       string
	from           string
	force          bool
	address        string
	tokenFile      string
	unsealKeysFile string
	identityFile   string
	timeout        time.Duration
}

func newRestoreCmd() *cobra.Command {
	opts := &restoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore <source> --snapshot <backup-id|latest|path>",
		Short: "Restore a backup into its source",
		Long: `Restore a Vault/OpenBao source from a backup: a backup id, "latest", or the path of a
local snapshot file (.snap, optionally .zst/.age).

lifeboat first reads the whole backup once to verify it (size and sha256 against the
manifest, decryption, the snapshot's own SHA256SUMS), then streams it into the raft leader
and waits until the cluster has really finished: Vault acknowledges a restore before it
has applied it and seals a node if applying fails, so success is reported only when a
leader is active again.

A snapshot restores the data of the cluster it came from, including its keyring: after a
restore from another cluster (or into a re-initialised one, which needs --force) the
cluster must be unsealed with the ORIGINAL cluster's unseal keys, and only the original
cluster's tokens work. Give those keys with --unseal-keys-file to unseal automatically.

The token used must be allowed to restore (in a freshly initialised cluster, its root
token):
` + vault.RestorePolicy + `

Exit codes:
  0  restored and the cluster is active (or sealed, waiting for the original keys)
  1  the restore failed; the message says at which step
  3  bad flags, arguments or configuration`,
		Example: `  # Restore the newest backup into a re-initialised cluster, then unseal with the old keys:
  VAULT_TOKEN=$(cat new-root-token) lifeboat restore vault --snapshot latest --force \
      --unseal-keys-file /secure/original-unseal-keys

  # Restore a specific backup from one destination, or a local file:
  lifeboat restore vault --snapshot vault-20261123T101500Z-1a2b --from s3-primary
  lifeboat restore vault --snapshot ./data.snap --force --token-file ./root-token`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRestore(cmd, args[0], opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.snapshot, "snapshot", "", "backup id, \"latest\", or a local snapshot file (required)")
	f.StringVar(&opts.from, "from", "", "destination to read the backup from (default: the first that has it)")
	f.BoolVar(&opts.force, "force", false, "restore a snapshot from another cluster or from before a re-initialisation")
	f.StringVar(&opts.address, "address", "", "restore into this Vault address instead of the configured one")
	f.StringVar(&opts.tokenFile, "token-file", "", "file holding the token to restore with (default: the source's configured auth)")
	f.StringVar(&opts.unsealKeysFile, "unseal-keys-file", "", "file of the snapshot's original unseal keys (one per line, or the JSON of operator init -format=json) to unseal after the restore")
	f.StringVar(&opts.identityFile, "identity-file", "", "age identity file for encrypted backups (default encryption.age.identityFile)")
	f.DurationVar(&opts.timeout, "timeout", 10*time.Minute, "how long to wait for the cluster to be active again")
	_ = cmd.MarkFlagRequired("snapshot")
	return cmd
}

// backupReader opens the artifact bytes of the chosen backup (fresh on every call).
type backupReader func(ctx context.Context) (io.ReadCloser, error)

func runRestore(cmd *cobra.Command, name string, opts *restoreOptions) error {
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	src, err := a.Config.Source(name)
	if err != nil {
		return usageError("%w", err)
	}
	if src.Kind != config.KindVault {
		return usageError("restore of %s sources is not implemented in this version of lifeboat", src.Kind)
	}
	out := cmd.OutOrStdout()
	open, label, err := chooseBackup(cmd.Context(), a, src.Name, opts.snapshot, opts.from, opts.identityFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "verifying %s ...\n", label)
	if err := verifyArtifact(cmd.Context(), open, src.Kind); err != nil {
		return fmt.Errorf("refusing to restore %s: %w", label, err)
	}
	fmt.Fprintln(out, "  verified: checksum and snapshot contents are good")

	vcfg := *src.Vault
	if opts.address != "" {
		vcfg.Address, vcfg.Nodes = opts.address, nil
	}
	if opts.tokenFile != "" {
		vcfg.Auth = config.VaultAuth{Method: config.AuthToken, Token: config.Secret{File: opts.tokenFile}}
	}
	vsrc := *src
	vsrc.Vault = &vcfg
	client, err := app.VaultClient(&vsrc)
	if err != nil {
		return usageError("%w", err)
	}
	var keys []string
	if opts.unsealKeysFile != "" {
		if keys, err = readUnsealKeys(opts.unsealKeysFile); err != nil {
			return usageError("--unseal-keys-file: %w", err)
		}
	}
	ctx := cmd.Context()
	if err := client.Login(ctx); err != nil {
		return err
	}
	leader, err := client.FindLeader(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restoring into the raft leader %s (%s) ...\n", leader.Address, leader.Version)
	body, err := open(ctx)
	if err != nil {
		return err
	}
	err = client.Restore(ctx, leader, body, opts.force)
	body.Close()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "  the leader accepted the snapshot; waiting for the cluster to settle ...")
	wctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	outcome, err := client.ConfirmRestore(wctx, keys, time.Second, opts.force)
	if err != nil {
		return err
	}
	switch {
	case outcome.Sealed:
		fmt.Fprintf(out, "restored %s. Vault is now SEALED: unseal it with the unseal keys of the cluster the snapshot was taken from\n"+
			"(`bao operator unseal` / `vault operator unseal`, or rerun with --unseal-keys-file). Tokens of that cluster are valid again; tokens issued after the snapshot are not.\n", label)
	default:
		unsealed := ""
		if outcome.Unsealed {
			unsealed = " unsealed with the original keys and"
		}
		fmt.Fprintf(out, "restored %s:%s active again (leader %s). Use the tokens of the cluster the snapshot was taken from.\n", label, unsealed, outcome.LeaderAddr)
	}
	return nil
}

// chooseBackup resolves --snapshot into a reopenable reader and a label for messages.
func chooseBackup(ctx context.Context, a *app.App, source, ref, from, identityFile string) (backupReader, string, error) {
	if fi, err := os.Stat(ref); err == nil && !fi.IsDir() {
		u := pipeline.Unwrap{Encrypted: strings.HasSuffix(ref, ".age"), Compressed: strings.Contains(ref, ".zst")}
		ids, err := a.IdentitiesFor(u.Encrypted, identityFile)
		if err != nil {
			return nil, "", err
		}
		return func(context.Context) (io.ReadCloser, error) {
			f, err := os.Open(ref)
			if err != nil {
				return nil, err
			}
			return pipeline.UnwrapReader(f, u, ids)
		}, "local file " + ref, nil
	} else if strings.ContainsRune(ref, os.PathSeparator) {
		return nil, "", usageError("--snapshot %s: %v", ref, err)
	}
	if _, err := a.ResolveSource(ref, source); err != nil {
		return nil, "", classify(err)
	}
	copies, err := a.FindBackups(ctx, source, ref, from)
	if err != nil {
		return nil, "", classify(err)
	}
	c := copies[0]
	ids, err := a.IdentitiesFor(c.Manifest.Encryption != nil, identityFile)
	if err != nil {
		return nil, "", err
	}
	label := fmt.Sprintf("backup %s from %s", c.Manifest.ID, c.Dest.Name)
	return func(ctx context.Context) (io.ReadCloser, error) {
		return pipeline.OpenBackup(ctx, c.Dest.Store, c.Manifest, ids)
	}, label, nil
}

func verifyArtifact(ctx context.Context, open backupReader, kind string) error {
	rc, err := open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = app.CheckStored(kind, rc)
	return err
}

// readUnsealKeys accepts one key per line or the JSON that `operator init -format=json`
// prints.
func readUnsealKeys(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return vault.ParseUnsealKeys(data)
}
