package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/kinds"
	"github.com/lifeboat-backup/lifeboat/internal/restore"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

type restoreOptions struct {
	snapshot     string
	dump         string
	resources    string
	from         string
	force        bool
	identityFile string
	// vault
	address        string
	tokenFile      string
	unsealKeysFile string
	timeout        time.Duration
	// postgres
	targetDSN          string
	targetPasswordFile string
	globals            bool
	noOwner            bool
	// kubernetes
	namespaceMap map[string]string
	only         []string
}

func newRestoreCmd() *cobra.Command {
	opts := &restoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore <source> (--snapshot|--dump|--resources) <backup-id|latest|path>",
		Short: "Restore a backup into its source",
		Long: `Restore a source from a backup: a backup id, "latest", or the path of a local file
(for a file inside a backup directory, its manifest.json next to it is used to check it;
a .zst or .age file is decompressed or decrypted on the way, e.g. data.snap.zst).
Every restore verifies the backup (size and sha256 against the manifest, decryption,
decompression). Vault and PostgreSQL restores read it once: it is verified as it streams
into the leader or into pg_restore --single-transaction, whose input lacks its last
64 KiB until the whole backup has verified, so a bad backup stops the restore before
anything is applied (with --globals, and for a loose file without a manifest, the backup
is read in full first). Other restores read it in full before anything is touched. A
copy that does not verify is skipped for the next copy of the same backup, then (for
"latest") the next older backup, each skip printed with its reason; the restore is
refused when none verifies. Hooks in sources[].restore (scale-down of Deployments, before/after commands) run
around the restore; scaled Deployments get their replicas back even when it fails. What
can refuse a restore is checked before the hooks run, so a refused restore never stops
the writers.

Vault/OpenBao (--snapshot): the snapshot is streamed into the raft leader and lifeboat
waits until the cluster has really finished: Vault acknowledges a restore before it has
applied it and seals a node if applying fails, so success is reported only when a leader
is active again. A snapshot restores the data of the cluster it came from, including its
keyring: after a restore from another cluster (or into a re-initialised one, which needs
--force) the cluster opens only with the ORIGINAL cluster's unseal keys, and only the
original cluster's tokens work. Give those keys with --unseal-keys-file to unseal
automatically. Initialise an empty replacement cluster with the original -key-shares and
-key-threshold. An auto-unsealed cluster (Transit, cloud KMS, HSM, static key) needs no
keys: lifeboat waits until its seal has unsealed it and a leader is active; if a node
stays sealed for 30s its seal cannot decrypt the snapshot's keyring (another key, or
credentials without decrypt), and the restore fails saying so. A restore reaches only
the nodes in the raft configuration: see docs/vault-backup-restore.md about peers that
kept older data (split brain). The token used must be allowed to restore (in a freshly initialised
cluster, its root token):
` + vault.RestorePolicy + `

PostgreSQL (--dump): pg_restore --clean --if-exists --single-transaction into the source's
database (or --target-dsn); a missing database is created. Checked before the hooks: the
target's connection, pg_restore (and psql for --globals), and the schema guard — a restore
that would downgrade a workflow platform's schema (the target's schema_history step is
newer than the dump's) is refused unless --force. For a dump file without its
manifest.json the dump's step is read from the dump itself. A failed pg_restore is rolled
back; a database lifeboat created for it stays behind empty, and roles applied by
--globals stay as applied. Afterwards the per-table row counts are compared with those
recorded at backup time and printed. --target-dsn must not hold a password: give it with
--target-password-file or PGPASSWORD.

Kubernetes configuration (--resources): first a server-side dry-run of every object,
printed as create, update or unchanged per object; then server-side apply (field manager
"lifeboat", forced) in dependency order: CRDs and Namespaces (waiting until the CRDs are
Established), ServiceAccounts and RBAC, ConfigMaps and Secrets, then custom resources and
the rest. --namespace-map old=new restores a namespace's objects into another one;
--only kind/name restores single objects (with their namespace). Objects that are in the
cluster but not in the backup are left alone (there is no --prune yet).

Exit codes:
  0  restored (for Vault: active again, or Shamir-sealed and waiting for the original keys)
  1  the restore failed or was refused; the message says at which step
  3  bad flags, arguments or configuration`,
		Example: `  # Vault: newest backup into a re-initialised cluster, unsealed with the old keys:
  lifeboat restore vault --snapshot latest --force --token-file ./new-root-token \
      --unseal-keys-file /secure/original-unseal-keys
  lifeboat restore vault --snapshot vault-20261123T101500Z-1a2b --from s3-primary
  lifeboat restore vault --snapshot ./data.snap --force --token-file ./root-token

  # Workflow metadata database:
  lifeboat restore workflows --dump latest
  PGPASSWORD=... lifeboat restore workflows --dump workflows-20261123T101500Z-9f3e \
      --target-dsn "host=db-new.internal dbname=argo user=postgres"

  # Kubernetes configuration, the argo namespace into argo-restored:
  lifeboat restore platform-config --resources latest --namespace-map argo=argo-restored
  lifeboat restore platform-config --resources latest --only ConfigMap/workflow-controller-configmap`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRestore(cmd, args[0], opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.snapshot, "snapshot", "", "vault: backup id, \"latest\", or a local snapshot file")
	f.StringVar(&opts.dump, "dump", "", "postgres: backup id, \"latest\", or a local dump file")
	f.StringVar(&opts.resources, "resources", "", "kubernetes: backup id, \"latest\", or a local archive file")
	f.StringVar(&opts.from, "from", "", "destination to read the backup from (default: the first that has it)")
	f.BoolVar(&opts.force, "force", false, "vault: restore a snapshot from another cluster or from before a re-initialisation; postgres: allow a schema downgrade")
	f.StringVar(&opts.identityFile, "identity-file", "", "age identity file for encrypted backups (default encryption.age.identityFile)")
	f.StringVar(&opts.address, "address", "", "vault: restore into this Vault address instead of the configured one")
	f.StringVar(&opts.tokenFile, "token-file", "", "vault: file holding the token to restore with (default: the source's configured auth)")
	f.StringVar(&opts.unsealKeysFile, "unseal-keys-file", "", "vault: file of the snapshot's original unseal keys (one per line, or the JSON of operator init) to unseal after the restore")
	f.DurationVar(&opts.timeout, "timeout", 10*time.Minute, "vault: how long to wait for the cluster to be active again")
	f.StringVar(&opts.targetDSN, "target-dsn", "", "postgres: restore into this database instead (libpq string or URL, without a password)")
	f.StringVar(&opts.targetPasswordFile, "target-password-file", "", "postgres: file with the password for --target-dsn (or set PGPASSWORD)")
	f.BoolVar(&opts.globals, "globals", false, "postgres: also apply the backup's roles and tablespaces (globals.sql) first")
	f.BoolVar(&opts.noOwner, "no-owner", false, "postgres: restore every object as owned by the connecting user")
	f.StringToStringVar(&opts.namespaceMap, "namespace-map", nil, "kubernetes: restore the objects of namespace old into new (old=new, repeatable)")
	f.StringArrayVar(&opts.only, "only", nil, "kubernetes: restore only this object, as kind/name (repeatable)")
	addAllowUnsigned(cmd)
	return cmd
}

func runRestore(cmd *cobra.Command, name string, opts *restoreOptions) error {
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	src, err := a.Config.Source(name)
	if err != nil {
		return usageError("%w", err)
	}
	k, err := kinds.Of(src)
	if err != nil {
		return classify(err)
	}
	refs := map[string]string{"snapshot": opts.snapshot, "dump": opts.dump, "resources": opts.resources}
	ref := refs[k.RestoreFlag()]
	for flag, v := range refs {
		if v != "" && flag != k.RestoreFlag() {
			ref = ""
		}
	}
	if ref == "" {
		return usageError("restore of a %s source takes --%s <backup-id|latest|path>", src.Kind, k.RestoreFlag())
	}
	env := source.Env{Logger: a.Logger, Out: cmd.OutOrStdout(), Clock: a.Clock}
	r, err := k.Restore(src, source.RestoreOptions{
		Force: opts.force, Address: opts.address, TokenFile: opts.tokenFile, UnsealKeysFile: opts.unsealKeysFile,
		Timeout: opts.timeout, TargetDSN: opts.targetDSN, TargetPasswordFile: opts.targetPasswordFile,
		Globals: opts.globals, NoOwner: opts.noOwner, NamespaceMap: opts.namespaceMap, Only: opts.only,
	}, env)
	if err != nil {
		return classify(err)
	}
	_, err = restore.Run(cmd.Context(), a, restore.Request{
		Source: name, Ref: ref, LocalFiles: true, From: opts.from, IdentityFile: opts.identityFile,
		Hooks: true, Restore: r, Env: env,
	})
	return classify(err)
}
