package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
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
and backup.

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
	out := cmd.OutOrStdout()
	var errs []error
	copied := 0
	for _, src := range sources {
		have, _, err := catalog.List(cmd.Context(), to.Store, src)
		if err != nil {
			return fmt.Errorf("list %s in %s: %w", src, opts.to, err)
		}
		present := map[string]bool{}
		for _, b := range have {
			present[b.ID] = true
		}
		backups, _, err := catalog.List(cmd.Context(), from.Store, src)
		if err != nil {
			return fmt.Errorf("list %s in %s: %w", src, opts.from, err)
		}
		for i := len(backups) - 1; i >= 0; i-- { // oldest first, so the newest lands last
			b := backups[i]
			if present[b.ID] {
				continue
			}
			if opts.dryRun {
				fmt.Fprintf(out, "would copy %s (%s) %s -> %s\n", b.ID, humanBytes(b.Manifest.Size), opts.from, opts.to)
				continue
			}
			start := time.Now()
			if err := copyBackup(cmd.Context(), from, to, b.Manifest); err != nil {
				errs = append(errs, fmt.Errorf("copy %s: %w", b.ID, err))
				fmt.Fprintf(out, "FAILED %s: %v\n", b.ID, err)
				continue
			}
			copied++
			fmt.Fprintf(out, "copied %s (%s) %s -> %s in %s\n", b.ID, humanBytes(b.Manifest.Size), opts.from, opts.to, time.Since(start).Round(time.Millisecond))
		}
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

// copyBackup streams the stored bytes unchanged (still encrypted, if they were), checking
// them against the manifest on the way: a mismatch fails the upload before it completes,
// so a corrupt source copy is never committed in the target. The extras (e.g. a dump's
// globals.sql) go before the manifest too: the manifest commits the backup, and a
// committed backup must be restorable in full.
func copyBackup(ctx context.Context, from, to pipeline.Destination, m *catalog.Manifest) error {
	if err := copyObject(ctx, from, to, m.DataObjectKey(), m.SHA256, m.Size); err != nil {
		return err
	}
	for _, x := range m.Extras {
		if err := copyObject(ctx, from, to, m.ExtraKey(x.Name), x.SHA256, x.Size); err != nil {
			return fmt.Errorf("%s: %w", x.Name, err)
		}
	}
	body, err := catalog.Encode(m)
	if err != nil {
		return err
	}
	if err := to.Store.Put(ctx, m.Key(), bytes.NewReader(body)); err != nil {
		return fmt.Errorf("write the manifest to %s (the backup is not committed there; run mirror again): %w", to.Name, err)
	}
	return nil
}

func copyObject(ctx context.Context, from, to pipeline.Destination, key, sha256 string, size int64) error {
	rc, err := from.Store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read from %s: %w", from.Name, err)
	}
	checked, err := pipeline.UnwrapReader(rc, pipeline.Unwrap{SHA256: sha256, Size: size}, nil)
	if err != nil {
		rc.Close()
		return err
	}
	defer checked.Close()
	if err := to.Store.Put(ctx, key, checked); err != nil {
		return fmt.Errorf("upload to %s: %w", to.Name, err)
	}
	return nil
}
