package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/spf13/cobra"
)

type listOptions struct {
	destination string
	json        bool
	clientOptions
}

func newListCmd() *cobra.Command {
	opts := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list [source]",
		Short: "List committed backups per destination",
		Long: `List the committed backups (those with a manifest) of one source, or of every source,
in every destination the source uses, newest first. Unfinished uploads are not listed;
backups whose manifest is unreadable are listed as problems. With --server URL the
listing comes from a running ` + "`lifeboat serve`" + ` (token from --token-file or LIFEBOAT_TOKEN).

Exit codes:
  0  listed every destination
  1  a destination could not be listed
  3  bad flags, arguments or configuration`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runList(cmd, optionalArg(args), opts) },
	}
	cmd.Flags().StringVarP(&opts.destination, "destination", "d", "", "list only this destination")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print as JSON")
	opts.clientOptions.addFlags(cmd)
	return cmd
}

type listedBackup struct {
	Source      string    `json:"source"`
	Destination string    `json:"destination"`
	ID          string    `json:"id"`
	Created     time.Time `json:"created"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Encrypted   bool      `json:"encrypted"`
}

func runList(cmd *cobra.Command, only string, opts *listOptions) error {
	if opts.server != "" {
		return runRemoteList(cmd, only, opts)
	}
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	sources, err := sourceNames(a, only)
	if err != nil {
		return err
	}
	var rows []listedBackup
	var problems []string
	var failed error
	for _, src := range sources {
		dests, err := destinationNames(a, src, opts.destination)
		if err != nil {
			return err
		}
		for _, name := range dests {
			d, err := a.Destination(name, false)
			if err != nil {
				failed = err
				fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: %v\n", err)
				continue
			}
			backups, probs, err := catalog.List(cmd.Context(), d.Store, src)
			if err != nil {
				failed = fmt.Errorf("list %s in %s: %w", src, name, err)
				fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: %v\n", failed)
				continue
			}
			for _, b := range backups {
				rows = append(rows, listedBackup{Source: src, Destination: name, ID: b.ID, Created: b.Created,
					Size: b.Manifest.Size, SHA256: b.Manifest.SHA256, Encrypted: b.Manifest.Encryption != nil})
			}
			for _, p := range probs {
				problems = append(problems, fmt.Sprintf("%s: %v", name, p))
			}
		}
	}
	if err := printListing(cmd, rows, problems, opts.json); err != nil {
		return err
	}
	return failed
}

func printListing(cmd *cobra.Command, rows []listedBackup, problems []string, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []listedBackup{}
		}
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE\tDESTINATION\tBACKUP\tCREATED (UTC)\tSIZE\tSHA256")
		for _, r := range rows {
			enc := ""
			if r.Encrypted {
				enc = " (age)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\t%s\n", r.Source, r.Destination, r.ID, r.Created.Format("2006-01-02 15:04:05"), humanBytes(r.Size), enc, r.SHA256[:12])
		}
		tw.Flush()
		if len(rows) == 0 {
			fmt.Fprintln(cmd.OutOrStdout(), "(no backups)")
		}
	}
	for _, p := range problems {
		fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: warning: unusable backup %s\n", p)
	}
	return nil
}
