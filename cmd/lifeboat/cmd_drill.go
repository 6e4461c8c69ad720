package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/drill"
	"github.com/lifeboat-backup/lifeboat/internal/metrics"
)

type drillOptions struct {
	backup       string
	from         string
	identityFile string
	noRecord     bool
	pushgateway  string
}

func newDrillCmd() *cobra.Command {
	opts := &drillOptions{}
	cmd := &cobra.Command{
		Use:   "drill <source>",
		Short: "Restore a backup into a scratch instance and check it",
		Long: `Rehearse a restore without touching the live system.

The backup is first read in full and verified, like every restore (size and sha256
against the manifest, decryption, the artifact's own checks, the extras). A copy that does
not verify is reported and skipped for another copy of the same backup; a drill never
falls back to an older backup, since it proves the backup it names.

Vault/OpenBao: a throwaway raft server is started from drill.vault.binary (its API on a
unix socket in a private temporary directory), initialised with a temporary key, the
backup is force-restored into it and unsealed with
the ORIGINAL unseal keys (drill.vault.unsealKeys), and drill.vault.mounts and
drill.vault.secrets are checked with a token of the backed-up cluster. For an
auto-unsealed cluster (Transit, cloud KMS, HSM, static key) the scratch server starts
with drill.vault.seal instead (the same seal stanza as the cluster, credentials from
files or env) and needs no keys: the drill then also proves that the seal key still
decrypts the snapshot; when it cannot, the drill fails with what the server said. The
scratch server and its data are deleted afterwards; the live cluster is never touched.

PostgreSQL: the backup is restored into a scratch database (drill.postgres.database,
default lifeboat_drill_<source>, on the source's server or drill.postgres.target; the
role needs CREATEDB), every table's row count is compared with the count recorded at
backup time (taken in the dump's own snapshot), the schema step is checked, and the
scratch database is dropped.

The outcome is appended to the backup's manifest in the destination it was read from
(unless --no-record), so listings show when a backup was last proven restorable. A failed
drill sends the config's drill-failure notifications (docs/notifications.md).

Exit codes:
  0  the restore worked and every check passed
  1  the drill failed (the message says which step or check)
  3  bad flags, arguments or configuration`,
		Example: `  lifeboat drill vault
  lifeboat drill vault --backup vault-20261123T101500Z-1a2b --from s3-primary`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runDrill(cmd, args[0], opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.backup, "backup", "latest", "backup id or \"latest\"")
	f.StringVar(&opts.from, "from", "", "destination to read the backup from (default: the first that has it)")
	f.StringVar(&opts.identityFile, "identity-file", "", "age identity file for encrypted backups (default encryption.age.identityFile)")
	f.BoolVar(&opts.noRecord, "no-record", false, "do not write a drill record (drill-*.json) next to the backup")
	addAllowUnsigned(cmd)
	f.StringVar(&opts.pushgateway, "pushgateway", "", "push lifeboat_drill_* metrics to this Prometheus Pushgateway URL (default: the config's pushgateway)")
	return cmd
}

func runDrill(cmd *cobra.Command, name string, opts *drillOptions) error {
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	url, err := pushgatewayURL(opts.pushgateway, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "drilling %s of %s ...\n", opts.backup, name)
	report, err := drill.Run(cmd.Context(), a, name, drill.Options{
		Backup: opts.backup, From: opts.from, IdentityFile: opts.identityFile, NoRecord: opts.noRecord,
		Out: cmd.OutOrStdout(),
	})
	m := metrics.New()
	if err != nil {
		a.NotifyDrill(cmd.Context(), a.Notifier(m), name, opts.backup, opts.from, err)
		return classify(err)
	}
	printDrill(cmd, report)
	a.NotifyDrill(cmd.Context(), a.Notifier(m), name, report.BackupID, report.Destination, report.Err)
	if url != "" {
		m.ObserveDrill(name, report.Started.Add(report.Duration), report.Duration, report.OK())
		if err := m.Push(cmd.Context(), url, name); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: warning: %v\n", err)
		}
	}
	return report.Err
}

func printDrill(cmd *cobra.Command, r *drill.Report) {
	out := cmd.OutOrStdout()
	for _, c := range r.Checks {
		mark := "ok    "
		if !c.OK {
			mark = "FAILED"
		}
		fmt.Fprintf(out, "  %s %s: %s\n", mark, c.Name, c.Detail)
	}
	fmt.Fprintln(out, r.Summary())
}
