package main

import (
	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/metrics"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/spf13/cobra"
)

type backupOptions struct {
	destinations []string
	json         bool
	pushgateway  string
	noWait       bool
	acceptShrink bool
	clientOptions
}

func (o *backupOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringSliceVarP(&o.destinations, "destination", "d", nil, "back up only to these destinations (default: all of the source's)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON")
	cmd.Flags().StringVar(&o.pushgateway, "pushgateway", "", "push the run's metrics to this Prometheus Pushgateway URL (default: the config's pushgateway)")
	cmd.Flags().BoolVar(&o.acceptShrink, "accept-shrink", false, "record this backup as good even if it is far smaller than the last good one (the shrink was intended)")
	cmd.Flags().BoolVar(&o.noWait, "no-wait", false, "with --server: return once the server has started the backup")
	o.clientOptions.addFlags(cmd)
}

func newBackupCmd() *cobra.Command {
	opts := &backupOptions{}
	cmd := &cobra.Command{
		Use:   "backup <source>",
		Short: "Back up one source to every destination from a single read",
		Long: `Back up one configured source (e.g. "vault") to all of its destinations at once.

For a Vault/OpenBao source lifeboat logs in, finds the raft leader (even when pointed at a
standby), streams its snapshot and checks the archive while it streams (gzip, tar,
SHA256SUMS, sealed sums), so an empty, truncated or corrupt snapshot is never committed.
The stream is optionally age-encrypted, hashed once, and written to every destination
concurrently. Each destination that received everything gets the manifest (which
commits the backup there) and then its retention prune. A failing destination is
reported and never stops the others.

With --server URL the backup runs on a running ` + "`lifeboat serve`" + ` instead (its schedule
lock applies: a backup already running there is an error); the command waits for the run
and exits like a local one, or returns at once with --no-wait. The server's token comes
from --token-file or the environment variable LIFEBOAT_TOKEN.

Every backup records where it came from (its lineage: the Vault/OpenBao cluster id, or
the PostgreSQL system identifier and database) and its volume (raft state bytes, total
rows). The run WARNS, with status still ok, when
  - the lineage differs from the newest earlier backup's ("new lineage"): the cluster was
    re-initialised or replaced, or restored from another cluster's backup. Retention then
    counts its rules within the new lineage only and keeps every backup of the old one
    until ` + "`lifeboat prune --lineage <old>`" + ` (or retention.maxAgeOtherLineages) removes them.
    If the re-initialisation was a mistake, restore the old lineage's newest backup.
  - the volume fell below sources[].suspiciousShrink (default 0.5) of the last good
    backup's ("suspicious"): data may have been lost. Suspicious backups are stored but
    counted apart by retention, so they never push the good ones out, and every later
    backup stays suspicious until the data is back. If the shrink was intended, run one
    backup with --accept-shrink to make it the new reference.
The warning is printed, logged, shown by status and exported as
lifeboat_backup_suspicious{source} (the chart's LifeboatBackupSuspicious alert).

The config's notifications (docs/notifications.md) are sent after the run: failure,
partial, recovery (judged from what the destinations hold) or success. Delivery is
retried for at most 30s and never changes the exit code.

Exit codes:
  0  committed to every destination (and retention succeeded)
  1  committed nowhere (source unreachable, bad snapshot, every destination failed)
  2  partial: committed to some destinations, failed on others (or retention failed)
  3  bad flags, arguments or configuration`,
		Example: `  lifeboat backup vault
  lifeboat backup vault --destination local --config /etc/lifeboat/lifeboat.yaml
  lifeboat backup vault --pushgateway http://pushgateway.monitoring:9091
  LIFEBOAT_TOKEN=$(cat token) lifeboat backup vault --server http://127.0.0.1:8080`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runBackup(cmd, args[0], opts) },
	}
	opts.addFlags(cmd)
	return cmd
}

func runBackup(cmd *cobra.Command, name string, opts *backupOptions) error {
	if opts.server != "" {
		if opts.acceptShrink {
			return usageError("--accept-shrink is for a local run: run `lifeboat backup %s --accept-shrink` with the config, not --server", name)
		}
		return runRemoteBackup(cmd, name, opts)
	}
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	gw, err := pushgatewayURL(opts.pushgateway, a)
	if err != nil {
		return err
	}
	res, err := a.BackupWith(cmd.Context(), name, opts.destinations, "", app.BackupOptions{AcceptShrink: opts.acceptShrink})
	if err != nil {
		return classify(err)
	}
	printResult(cmd, res, opts.json)
	// Notifications go first, so that the push carries lifeboat_notifications_failed_total;
	// neither changes the exit code.
	m := metrics.New()
	a.NotifyRun(cmd.Context(), a.Notifier(m), res)
	if gw != "" {
		pushRunMetrics(cmd, a, m, res, gw)
	}
	switch res.Status() {
	case pipeline.StatusOK:
		return nil
	case pipeline.StatusPartial:
		return withExitCode(exitPartial, res.Error())
	default:
		return withExitCode(exitFailure, res.Error())
	}
}

// printResult prints a local run the same way as a run done by `serve` (one text and one
// JSON shape for both).
func printResult(cmd *cobra.Command, res *pipeline.Result, asJSON bool) {
	printRun(cmd, history.FromResult(res, history.TriggerCLI), asJSON)
}
