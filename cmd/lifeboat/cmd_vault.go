package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/restore"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

func newVaultCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vault",
		Short: "Vault/OpenBao operations beyond backup and restore",
	}
	cmd.AddCommand(newAutoRestoreCmd())
	return cmd
}

type autoRestoreOptions struct {
	source         string
	node           string
	backup         string
	from           string
	unsealKeysFile string
	unsealKeysSec  string
	identityFile   string
	requireAll     bool
	joinTimeout    time.Duration
	restartPod     string
}

func newAutoRestoreCmd() *cobra.Command {
	opts := &autoRestoreOptions{}
	cmd := &cobra.Command{
		Use:   "auto-restore",
		Short: "Restore a wiped Vault cluster from the newest backup, every node, unattended (sidecar / Job)",
		Long: `Bring back a Vault/OpenBao cluster that lost its storage: Shamir-sealed when its unseal
keys survived, or auto-unsealed (Transit, cloud KMS, HSM, static key) when its seal still
works.

Runs only when ALL of these hold, and otherwise changes nothing:
  1. no configured node (vault.address / vault.nodes) reports an initialised barrier;
     a node with nothing listening or no DNS record (a StatefulSet pod not created yet)
     counts as not initialised, but any other failure to reach a node (a timeout, a TLS
     error) refuses, since that node may hold the cluster's data;
  2. for a Shamir seal, the original unseal keys can be read (--unseal-keys-file, or a
     Kubernetes Secret with --unseal-keys-secret namespace/name[:key], which is only ever
     read); a node that reports an auto-unseal seal needs no keys;
  3. a backup exists and verifies in full (size, sha256, snapshot sums); a copy that
     does not is skipped for another copy of it, then for the next older backup.
Then node 0 (--node, default the first of vault.nodes, else vault.address) is initialised
with temporary key shares (as many as there are original keys, so that the restored
cluster accepts the original keys without a restart; one temporary recovery share with
an auto-unseal seal), unsealed, the backup is force-restored into it, and the result is
unsealed with the original keys (or by its own seal, which must decrypt the snapshot's
keyring). The temporary keys and root token live only in lifeboat's memory: they are
never printed, logged or written anywhere.

Then every other node of vault.nodes is brought back: it joins node 0 by its raft
retry_join, or, if it stays uninitialised for 15s, lifeboat asks it to join
(sys/storage/raft/join with leader_api_addr node 0 and vault.caCert); it is unsealed with
the original keys (or unseals itself), and lifeboat waits until the raft configuration
lists every node as a voter (read with the source's token), up to --join-timeout. A node
that does not come back in time fails the run (exit 1) with what it was waiting for;
node 0 stays restored.

An auto-unsealed node 0 keeps the raft TLS keys of the temporary initialisation when the
backed-up cluster never rotated its raft TLS key (it does so a day after initialisation;
OpenBao/Vault skip reloading a keyring of the same term), and then the joined nodes stay
sealed. One restart of node 0's server process lets them catch up: with --restart-pod
namespace/name lifeboat deletes node 0's pod once through the Kubernetes API (its
StatefulSet starts it again on the same volume; in the chart's sidecar that is lifeboat's
own pod, and the new sidecar finds the cluster initialised); without it lifeboat says to
restart node 0 (docs/auto-unseal.md).

Exit codes:
  0  restored, or nothing to do (Vault is already initialised)
  1  refused (unseal keys unreadable, a node unreachable, no usable backup) or failed
     (including a node that did not rejoin); Vault was left as it was unless the
     message says the restore itself failed
  3  bad flags, arguments or configuration (including no unseal keys given)`,
		Example: `  # As a Job, or a native sidecar (initContainers with restartPolicy: Always) of vault-0:
  lifeboat vault auto-restore --unseal-keys-secret vault-recovery/vault-unseal-keys:unseal-keys

  # An auto-unsealed cluster, from the sidecar of vault-0 (POD_NAMESPACE from the downward API):
  lifeboat vault auto-restore --require-all-nodes --restart-pod "$POD_NAMESPACE/$HOSTNAME"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAutoRestore(cmd, opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.source, "source", "", "vault source name (default: the only vault source)")
	f.StringVar(&opts.node, "node", "", "API address of the node to initialise and restore into")
	f.StringVar(&opts.backup, "backup", "latest", "backup id or \"latest\"")
	f.StringVar(&opts.from, "from", "", "destination to read the backup from (default: the first that has it)")
	f.StringVar(&opts.unsealKeysFile, "unseal-keys-file", "", "file with the original unseal keys (one per line, or operator init JSON)")
	f.StringVar(&opts.unsealKeysSec, "unseal-keys-secret", "", "Kubernetes Secret with the original unseal keys: namespace/name[:key]")
	f.StringVar(&opts.identityFile, "identity-file", "", "age identity file for encrypted backups (default encryption.age.identityFile)")
	f.BoolVar(&opts.requireAll, "require-all-nodes", false, "refuse unless every configured node answers (safest with Parallel pod management)")
	f.DurationVar(&opts.joinTimeout, "join-timeout", 10*time.Minute, "how long to wait for the other nodes to join, unseal and become raft voters")
	f.StringVar(&opts.restartPod, "restart-pod", "", "node 0's pod, namespace/name: delete it once when an auto-unsealed node 0 must restart to load the restored raft TLS keys (needs delete on that pod)")
	addAllowUnsigned(cmd)
	return cmd
}

func runAutoRestore(cmd *cobra.Command, opts *autoRestoreOptions) error {
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	src, err := vaultSource(a, opts.source)
	if err != nil {
		return err
	}
	env := source.Env{Logger: a.Logger, Out: cmd.OutOrStdout(), Clock: a.Clock}
	r, err := vault.NewAutoRestore(src, vault.AutoRestoreOptions{
		Node:        opts.node,
		Keys:        vault.UnsealKeys{File: opts.unsealKeysFile, Secret: opts.unsealKeysSec},
		RequireAll:  opts.requireAll,
		JoinTimeout: opts.joinTimeout,
		RestartPod:  opts.restartPod,
	}, env)
	if err != nil {
		return classify(err)
	}
	_, err = restore.Run(cmd.Context(), a, restore.Request{
		Source: src.Name, Ref: opts.backup, From: opts.from, IdentityFile: opts.identityFile,
		Restore: r, Env: env, Refusal: "refusing to initialise Vault",
	})
	return classify(err)
}

// vaultSource returns the named vault source, or the only one.
func vaultSource(a *app.App, name string) (*config.Source, error) {
	if name != "" {
		src, err := a.Config.Source(name)
		if err != nil {
			return nil, usageError("%w", err)
		}
		if src.Kind != (vault.Kind{}).Name() {
			return nil, usageError("source %s is a %s source, not vault", name, src.Kind)
		}
		return src, nil
	}
	var found []*config.Source
	for i := range a.Config.Sources {
		if a.Config.Sources[i].Kind == (vault.Kind{}).Name() {
			found = append(found, &a.Config.Sources[i])
		}
	}
	if len(found) != 1 {
		return nil, usageError("%d vault sources are configured: name one with --source", len(found))
	}
	return found[0], nil
}
