package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

// prepareVaultRestore checks everything that can be checked before touching Vault and
// returns the restore itself.
func prepareVaultRestore(cmd *cobra.Command, a *app.App, src *config.Source, opts *restoreOptions) (func(context.Context) error, error) {
	b, err := chooseBackup(cmd.Context(), a, src.Name, opts.snapshot, opts.from, opts.identityFile)
	if err != nil {
		return nil, err
	}
	if err := verifyFirst(cmd, src, b); err != nil {
		return nil, err
	}
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
		return nil, usageError("%w", err)
	}
	var keys []string
	if opts.unsealKeysFile != "" {
		if keys, err = readUnsealKeys(opts.unsealKeysFile); err != nil {
			return nil, usageError("--unseal-keys-file: %w", err)
		}
	}
	return func(ctx context.Context) error { return restoreVault(ctx, cmd, client, b, keys, opts) }, nil
}

func restoreVault(ctx context.Context, cmd *cobra.Command, client *vault.Client, b *chosenBackup, keys []string, opts *restoreOptions) error {
	out := cmd.OutOrStdout()
	if err := client.Login(ctx); err != nil {
		return err
	}
	leader, err := client.FindLeader(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restoring into the raft leader %s (%s) ...\n", leader.Address, leader.Version)
	body, err := b.open(ctx)
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
			"(`bao operator unseal` / `vault operator unseal`, or rerun with --unseal-keys-file). Tokens of that cluster are valid again; tokens issued after the snapshot are not.\n", b.label)
	default:
		unsealed := ""
		if outcome.Unsealed {
			unsealed = " unsealed with the original keys and"
		}
		fmt.Fprintf(out, "restored %s:%s active again (leader %s). Use the tokens of the cluster the snapshot was taken from.\n", b.label, unsealed, outcome.LeaderAddr)
	}
	return nil
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
