package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/spf13/cobra"
)

type pruneOptions struct {
	destination string
	dryRun      bool
	grace       time.Duration
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

Exit codes:
  0  every destination pruned (or would be, with --dry-run)
  1  nothing could be pruned
  2  some destinations failed
  3  bad flags, arguments or configuration`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPrune(cmd, optionalArg(args), opts) },
	}
	cmd.Flags().StringVarP(&opts.destination, "destination", "d", "", "prune only this destination")
	cmd.Flags().BoolVarP(&opts.dryRun, "dry-run", "n", false, "show what would be deleted, delete nothing")
	cmd.Flags().DurationVar(&opts.grace, "unfinished-grace", pipeline.DefaultUnfinishedGrace, "remove unfinished uploads older than this")
	return cmd
}

func runPrune(cmd *cobra.Command, only string, opts *pruneOptions) error {
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	sources, err := sourceNames(a, only)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	now := time.Now().UTC()
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
			decisions := l.Plan(now)
			for _, dec := range decisions {
				verb := "keep  "
				if !dec.Keep {
					verb = "delete"
				}
				fmt.Fprintf(out, "  %s %s  %s\n", verb, dec.Backup.ID, strings.Join(dec.Reasons, ", "))
			}
			res, err := catalog.Prune(cmd.Context(), l.Dest.Store, src, decisions, catalog.PruneOptions{DryRun: opts.dryRun, UnfinishedBefore: now.Add(-opts.grace)})
			for _, k := range res.Unfinished {
				fmt.Fprintf(out, "  %s unfinished upload %s\n", map[bool]string{true: "would remove", false: "removed"}[opts.dryRun], k)
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
