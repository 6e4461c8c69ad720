package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/spf13/cobra"
)

// pollEvery is how often a waiting `backup --server` asks for its run (a variable for
// tests).
var pollEvery = time.Second

// runRemoteBackup asks the server to back up source, then (unless --no-wait) polls the
// run until it ends and exits like a local backup.
func runRemoteBackup(cmd *cobra.Command, source string, opts *backupOptions) error {
	if opts.pushgateway != "" {
		return usageError("--pushgateway applies to local runs; with --server the server's /metrics reports the run")
	}
	c, err := opts.client()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var run history.Run
	err = c.call(ctx, "POST", "/api/v1/sources/"+url.PathEscape(source)+"/backup", api.TriggerRequest{Destinations: opts.destinations}, &run)
	if se, ok := isConflict(err); ok {
		return withExitCode(exitFailure, fmt.Errorf("%s; follow it with `lifeboat status --server %s`", se.Message, opts.server))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: backup %s of %s started on %s\n", run.ID, source, opts.server)
	if opts.noWait {
		fmt.Fprintln(cmd.OutOrStdout(), run.ID)
		return nil
	}
	for run.Running() {
		select {
		case <-ctx.Done():
			return withExitCode(exitFailure, fmt.Errorf("stopped waiting; backup %s goes on on the server (see `lifeboat status --server %s`)", run.ID, opts.server))
		case <-time.After(pollEvery):
		}
		if err := c.call(ctx, "GET", "/api/v1/runs/"+url.PathEscape(run.ID), nil, &run); err != nil {
			return err
		}
	}
	printRun(cmd, run, opts.json)
	switch pipeline.Status(run.Status) {
	case pipeline.StatusOK:
		return nil
	case pipeline.StatusPartial:
		return withExitCode(exitPartial, fmt.Errorf("backup %s: %s", run.ID, run.Error))
	default:
		return withExitCode(exitFailure, fmt.Errorf("backup %s: %s", run.ID, run.Error))
	}
}

// printRun prints a run record like printResult prints a local result; --json prints the
// record as the API returns it.
func printRun(cmd *cobra.Command, r history.Run, asJSON bool) {
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
		return
	}
	fmt.Fprintf(out, "backup %s of %s: %s\n", r.ID, r.Source, r.Status)
	if r.SHA256 != "" {
		fmt.Fprintf(out, "  size %s, sha256 %s\n", humanBytes(r.Size), r.SHA256)
	}
	for _, d := range r.Destinations {
		switch {
		case d.OK && d.PruneError != "":
			fmt.Fprintf(out, "  %-12s committed  %s  (retention FAILED: %s)\n", d.Name, d.Store, d.PruneError)
		case d.OK:
			extra := ""
			if len(d.Pruned) > 0 {
				extra = fmt.Sprintf("  (retention removed %d: %v)", len(d.Pruned), d.Pruned)
			}
			fmt.Fprintf(out, "  %-12s committed  %s%s\n", d.Name, d.Store, extra)
		default:
			fmt.Fprintf(out, "  %-12s FAILED     %s: %s\n", d.Name, d.Store, d.Error)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(out, "  WARNING: %s\n", w)
	}
}
