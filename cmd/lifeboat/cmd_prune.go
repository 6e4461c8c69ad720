package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/spf13/cobra"
)

type pruneOptions struct {
	destination string
	dryRun      bool
	grace       time.Duration
	lineage     string
}

func newPruneCmd() *cobra.Command {
	opts := &pruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune [source]",
		Short: "Apply each destination's retention policy",
		Long: `Apply each destination's retention policy (keepLast, keepWithin, keepDaily, keepWeekly,
keepMonthly) to one source or every source, and remove unfinished uploads older than the
grace period. The newest backup is always kept; an empty destination is never pruned, and
a destination with no retention rules keeps everything. Damaged copies are listed and
never deleted. Use --dry-run to see every
decision and its reason first.

The rules count within the lineage of the newest backup (the cluster it came from, see
` + "`lifeboat backup --help`" + `). Backups of an older lineage, left behind when a cluster was
re-initialised, are never removed by the rules: they stay until you remove them with
--lineage <id> (shown by --dry-run as "previous lineage <id>") or until they are older than
the destination's retention.maxAgeOtherLineages. Suspicious backups (drastically smaller
than the last good one) are counted apart, so they never push good backups out.

On an S3 destination with objectLock, a backup the rules would delete while its object
lock has not ended is kept and shown as "locked until <time>"; the first prune after that
time deletes it. That is not an error: the exit code stays 0.

Exit codes:
  0  every destination pruned (or would be, with --dry-run)
  1  nothing could be pruned
  2  some destinations failed
  3  bad flags, arguments or configuration`,
		Example: `  lifeboat prune --dry-run
  lifeboat prune vault --lineage 4f1c2a9e-0c8b-7d1e-5a3f-2b6c9d0e1f2a --dry-run
  lifeboat prune vault --lineage 4f1c2a9e-0c8b-7d1e-5a3f-2b6c9d0e1f2a`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPrune(cmd, optionalArg(args), opts) },
	}
	cmd.Flags().StringVarP(&opts.destination, "destination", "d", "", "prune only this destination")
	cmd.Flags().BoolVarP(&opts.dryRun, "dry-run", "n", false, "show what would be deleted, delete nothing")
	addAllowUnsigned(cmd)
	cmd.Flags().StringVar(&opts.lineage, "lineage", "", "also delete every backup of this older lineage (needs a source; never the newest backup's lineage)")
	cmd.Flags().DurationVar(&opts.grace, "unfinished-grace", pipeline.DefaultUnfinishedGrace, "remove unfinished uploads older than this")
	return cmd
}

func runPrune(cmd *cobra.Command, only string, opts *pruneOptions) error {
	if opts.lineage != "" && only == "" {
		return usageError("--lineage %s: name the source whose backups to remove, e.g. `lifeboat prune vault --lineage %s`", opts.lineage, opts.lineage)
	}
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	sources, err := sourceNames(a, only)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	now := clock.Or(a.Clock).Now()
	var errs []error
	attempts := 0
	for _, src := range sources {
		inv, err := inventory.Take(cmd.Context(), a, src, opts.destination, now)
		if err != nil {
			return classify(err)
		}
		for _, l := range inv.Listings {
			attempts++
			if l.Err != nil {
				errs = append(errs, l.Err)
				continue
			}
			fmt.Fprintf(out, "%s in %s (%s), retention %s:\n", src, l.Name, l.Dest.Store, l.Dest.Retention)
			for _, d := range l.Damaged {
				fmt.Fprintf(out, "  damaged %s: %s (never pruned: look at it)\n", d.ID, d.Reason())
			}
			if len(l.Backups) == 0 {
				fmt.Fprintln(out, "  no backups: nothing to prune")
				continue
			}
			if opts.lineage != "" {
				if err := checkLineage(l, opts.lineage); err != nil {
					errs = append(errs, err)
					continue
				}
			}
			decisions := catalog.PlanWith(now, l.Backups, l.Dest.Retention, catalog.PlanOptions{DropLineage: opts.lineage})
			// Object lock: what the rules would delete but is locked is shown as kept.
			if decisions, err = catalog.ApplyLocks(cmd.Context(), l.Dest.Store, src, decisions, now); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", l.Name, err))
				continue
			}
			for _, dec := range decisions {
				verb := "keep  "
				if !dec.Keep {
					verb = "delete"
				}
				fmt.Fprintf(out, "  %s %s  %s\n", verb, dec.Backup.ID, strings.Join(dec.Reasons, ", "))
			}
			res, err := catalog.Prune(cmd.Context(), l.Dest.Store, src, decisions, catalog.PruneOptions{DryRun: opts.dryRun, UnfinishedBefore: now.Add(-opts.grace), Now: now})
			for _, k := range res.Unfinished {
				fmt.Fprintf(out, "  %s unfinished upload %s\n", map[bool]string{true: "would remove", false: "removed"}[opts.dryRun], k)
			}
			for _, k := range res.UnfinishedLocked {
				fmt.Fprintf(out, "  kept unfinished upload %s: its object lock has not ended; a later prune removes it\n", k)
			}
			if len(res.Locked) > 0 {
				fmt.Fprintf(out, "  %d kept by object lock (%s): retention deletes them once their lock ends, not before\n",
					len(res.Locked), strings.Join(res.Locked, ", "))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", l.Name, err))
				continue
			}
			if opts.dryRun {
				fmt.Fprintf(out, "  dry run: would delete %d, keep %d\n", len(res.Deleted), len(res.Kept))
			} else {
				fmt.Fprintf(out, "  deleted %d, kept %d\n", len(res.Deleted), len(res.Kept))
			}
		}
	}
	switch {
	case len(errs) == 0:
		return nil
	case len(errs) < attempts:
		return withExitCode(exitPartial, errors.Join(errs...))
	default:
		return errors.Join(errs...)
	}
}

// checkLineage refuses --lineage for the newest backup's lineage (the cluster being backed
// up now) and says so when the destination holds none of that lineage.
func checkLineage(l inventory.Listing, lineage string) error {
	if n := l.Newest(); n != nil && n.Manifest.Lineage == lineage {
		return fmt.Errorf("%s: lineage %s is the newest backup's (%s): --lineage only removes an older lineage; "+
			"the current one is pruned by the retention rules", l.Name, lineage, n.ID)
	}
	for _, b := range l.Backups {
		if b.Manifest.Lineage == lineage {
			return nil
		}
	}
	return fmt.Errorf("%s: no backup of lineage %s here; `lifeboat list` shows each backup's lineage", l.Name, lineage)
}
