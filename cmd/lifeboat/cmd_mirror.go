package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/mirror"
)

type mirrorOptions struct {
	from, to string
	dryRun   bool
}

func newMirrorCmd() *cobra.Command {
	opts := &mirrorOptions{}
	cmd := &cobra.Command{
		Use:   "mirror --from <destination> --to <destination> [source]",
		Short: "Copy backups missing in one destination from another (never deletes)",
		Long: `Copy every committed backup of one source (or all sources) that exists in --from but not
in --to, for example to catch a bucket up after it was down during a backup. Each copy (the
data and any extras, such as a PostgreSQL backup's globals.sql) is
streamed, checked against the manifest's sha256 while it is copied, and committed in the
target by writing the manifest last. Nothing is ever deleted; retention stays with prune
and backup. A damaged copy (its data missing or of another size) in --to is copied over;
one in --from cannot be copied, and both are reported as warnings.

Exit codes:
  0  every missing backup was copied (or none was missing)
  1  nothing could be copied
  2  some backups failed to copy
  3  bad flags, arguments or configuration`,
		Example: `  lifeboat mirror --from local --to s3-primary
  lifeboat mirror --from s3-primary --to s3-dr vault --dry-run`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runMirror(cmd, optionalArg(args), opts) },
	}
	cmd.Flags().StringVar(&opts.from, "from", "", "destination to copy from (required)")
	cmd.Flags().StringVar(&opts.to, "to", "", "destination to copy to (required)")
	cmd.Flags().BoolVarP(&opts.dryRun, "dry-run", "n", false, "show what would be copied")
	addAllowUnsigned(cmd)
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func runMirror(cmd *cobra.Command, only string, opts *mirrorOptions) error {
	if opts.from == opts.to {
		return usageError("--from and --to name the same destination %q", opts.from)
	}
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	sources, err := sourceNames(a, only)
	if err != nil {
		return err
	}
	from, err := a.Destination(opts.from, false)
	if err != nil {
		return usageError("--from: %w", err)
	}
	to, err := a.Destination(opts.to, true)
	if err != nil {
		return usageError("--to: %w", err)
	}
	if !opts.dryRun {
		if err := app.CheckLock(cmd.Context(), to); err != nil {
			return fmt.Errorf("--to %s: %w", opts.to, err)
		}
	}
	trust, err := a.Trust()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	var errs []error
	copied := 0
	for _, src := range sources {
		damaged, err := mirror.Source(cmd.Context(), from, to, src, trust, opts.dryRun, func(c mirror.Copy) {
			b := c.Backup
			switch {
			case opts.dryRun:
				fmt.Fprintf(out, "would copy %s (%s) %s -> %s\n", b.ID, humanBytes(b.Manifest.Size), opts.from, opts.to)
			case c.Err != nil:
				errs = append(errs, fmt.Errorf("copy %s: %w", b.ID, c.Err))
				fmt.Fprintf(out, "FAILED %s: %v\n", b.ID, c.Err)
			default:
				copied++
				fmt.Fprintf(out, "copied %s (%s) %s -> %s in %s\n", b.ID, humanBytes(b.Manifest.Size), opts.from, opts.to, c.Took.Round(time.Millisecond))
			}
		})
		if err != nil {
			return err
		}
		printDamaged(cmd, api.Damaged(damaged))
	}
	if !opts.dryRun {
		fmt.Fprintf(out, "%d backups copied, %d failed\n", copied, len(errs))
	}
	switch {
	case len(errs) == 0:
		return nil
	case copied > 0:
		return withExitCode(exitPartial, errors.Join(errs...))
	default:
		return errors.Join(errs...)
	}
}
