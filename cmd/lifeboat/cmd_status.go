package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/server"
	"github.com/spf13/cobra"
)

type statusOptions struct {
	json bool
	clientOptions
}

func newStatusCmd() *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status [source]",
		Short: "Show the backup status of each source",
		Long: `Show, per source, its health and the newest backup in each destination with its age.

Without --server the config's destinations are listed directly (no run history: the
health is judged from the backups and the schedule only). With --server URL the status
comes from a running ` + "`lifeboat serve`" + `, with the last runs and the next scheduled one;
its token comes from --token-file or LIFEBOAT_TOKEN.

Health: ok; stale (a destination's newest backup is older than two schedule intervals
plus the jitter); failing (the last run failed or was partial, a destination cannot be
listed, or a destination holds a damaged copy: its data missing or of another size, its
manifest unreadable); suspicious (the newest backup is far smaller than the last good one,
or backups of an older lineage, a re-initialised cluster, are held back from retention:
see ` + "`lifeboat backup --help`" + `); never (no usable backup in any destination). Each damaged copy is
shown by backup, destination and reason.

Exit codes:
  0  every shown source is ok
  1  a source is stale, failing, suspicious or never backed up, or the server could not be asked
  3  bad flags, arguments or configuration`,
		Example: `  lifeboat status
  LIFEBOAT_TOKEN=$(cat token) lifeboat status --server http://127.0.0.1:8080 --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var only string
			if len(args) == 1 {
				only = args[0]
			}
			return runStatus(cmd, only, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print as JSON (the API's status document)")
	opts.clientOptions.addFlags(cmd)
	return cmd
}

func runStatus(cmd *cobra.Command, only string, opts *statusOptions) error {
	var resp api.StatusResponse
	if opts.server != "" {
		c, err := opts.client()
		if err != nil {
			return err
		}
		if err := c.call(cmd.Context(), "GET", "/api/v1/status", nil, &resp); err != nil {
			return err
		}
	} else {
		a, err := loadApp(cmd)
		if err != nil {
			return err
		}
		names, err := sourceNames(a, only)
		if err != nil {
			return err
		}
		var sources []config.Source
		for _, n := range names {
			src, _ := a.Config.Source(n)
			sources = append(sources, *src)
		}
		resp.Now = time.Now().UTC()
		resp.Sources, err = server.LocalStatus(cmd.Context(), a, sources, resp.Now)
		if err != nil {
			return classify(err)
		}
	}
	var shown []api.SourceStatus
	for _, s := range resp.Sources {
		if only == "" || s.Name == only {
			shown = append(shown, s)
		}
	}
	if only != "" && len(shown) == 0 {
		return usageError("no source %q on the server %s", only, opts.server)
	}
	if opts.json {
		resp.Sources = shown
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(resp); err != nil {
			return err
		}
	} else {
		printStatus(cmd.OutOrStdout(), resp.Now, shown)
	}
	var unhealthy []string
	for _, s := range shown {
		if s.Health != server.HealthOK {
			unhealthy = append(unhealthy, s.Name+" is "+s.Health)
		}
	}
	if len(unhealthy) > 0 {
		return withExitCode(exitFailure, errors.New(strings.Join(unhealthy, "; ")))
	}
	return nil
}

func printStatus(w io.Writer, now time.Time, sources []api.SourceStatus) {
	for i, s := range sources {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s): %s — %s\n", s.Name, s.Kind, s.Health, s.HealthReason)
		if s.Schedule != "" {
			line := fmt.Sprintf("  schedule %q UTC, every %s", s.Schedule, time.Duration(s.IntervalSeconds*float64(time.Second)))
			if s.NextScheduled != nil {
				line += ", next run " + s.NextScheduled.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintln(w, line)
		}
		if r := s.LastAttempt; r != nil {
			fmt.Fprintf(w, "  last run %s: %s (%s), finished %s\n", r.ID, r.Status, r.Trigger, r.Finished.Format("2006-01-02 15:04:05"))
		}
		if s.Running != "" {
			fmt.Fprintf(w, "  running now: %s\n", s.Running)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  DESTINATION\tBACKUPS\tDAMAGED\tNEWEST\tCREATED (UTC)\tAGE")
		for _, d := range s.Destinations {
			switch {
			case d.Error != "":
				fmt.Fprintf(tw, "  %s\t-\t-\tcannot list: %s\t\t\n", d.Name, d.Error)
			case d.Latest == nil:
				fmt.Fprintf(tw, "  %s\t0\t%d\t(none)\t\t\n", d.Name, len(d.Damaged))
			default:
				fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t%s\n", d.Name, d.Backups, len(d.Damaged), d.Latest.ID,
					d.Latest.Created.Format("2006-01-02 15:04:05"), now.Sub(d.Latest.Created).Round(time.Second))
			}
		}
		tw.Flush()
		for _, d := range s.Destinations {
			for _, c := range d.Damaged {
				fmt.Fprintf(w, "  %s in %s: DAMAGED: %s\n", c.ID, c.Destination, c.Reason)
			}
		}
	}
}
