package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
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
in every destination the source uses, newest first. Unfinished uploads are not listed.
Each damaged copy (its manifest unreadable or naming another backup, its data missing or
of another size) is a warning naming the backup, the destination and the reason; with
--json it is a row with "damaged" set to the reason. With --server URL the
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

// listedBackup is one row of `list --json`: a committed copy, or a damaged one (Damaged
// set to the reason, and nothing else known).
type listedBackup struct {
	Source      string    `json:"source"`
	Destination string    `json:"destination"`
	ID          string    `json:"id"`
	Created     time.Time `json:"created,omitzero"`
	Size        int64     `json:"size,omitempty"`
	SHA256      string    `json:"sha256,omitempty"`
	Encrypted   bool      `json:"encrypted,omitempty"`
	Damaged     string    `json:"damaged,omitempty"`
	Lineage     string    `json:"lineage,omitempty"`
	NewLineage  bool      `json:"newLineage,omitempty"`
	Suspicious  string    `json:"suspicious,omitempty"`
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
	invs, err := inventory.TakeAll(cmd.Context(), a, sources, opts.destination, time.Now().UTC())
	if err != nil {
		return classify(err)
	}
	return printListing(cmd, api.Listings(invs), opts.json)
}

// printListing prints the backups, warns about each damaged copy and fails when a
// destination could not be listed.
func printListing(cmd *cobra.Command, resp api.BackupsResponse, asJSON bool) error {
	rows := []listedBackup{}
	var damaged []api.DamagedCopy
	var failed []error
	for _, l := range resp.Listings {
		if l.Error != "" {
			err := fmt.Errorf("list %s in %s: %s", l.Source, l.Destination, l.Error)
			fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: %v\n", err)
			failed = append(failed, err)
		}
		for _, b := range l.Backups {
			rows = append(rows, listedBackup{Source: l.Source, Destination: l.Destination, ID: b.ID, Created: b.Created,
				Size: b.Size, SHA256: b.SHA256, Encrypted: b.Encrypted,
				Lineage: b.Lineage, NewLineage: b.NewLineage, Suspicious: b.Suspicious})
		}
		damaged = append(damaged, l.Damaged...)
	}
	if asJSON {
		for _, l := range resp.Listings {
			for _, d := range l.Damaged {
				rows = append(rows, listedBackup{Source: l.Source, Destination: d.Destination, ID: d.ID, Damaged: d.Reason})
			}
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE\tDESTINATION\tBACKUP\tCREATED (UTC)\tSIZE\tSHA256\tLINEAGE")
		for _, r := range rows {
			enc := ""
			if r.Encrypted {
				enc = " (age)"
			}
			lineage := r.Lineage
			if r.NewLineage {
				lineage += " (new)"
			}
			if r.Suspicious != "" {
				lineage += " SUSPICIOUS: " + r.Suspicious
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\t%s\t%s\n", r.Source, r.Destination, r.ID, r.Created.Format("2006-01-02 15:04:05"), humanBytes(r.Size), enc, r.SHA256[:12], lineage)
		}
		tw.Flush()
		if len(rows) == 0 {
			fmt.Fprintln(cmd.OutOrStdout(), "(no backups)")
		}
	}
	printDamaged(cmd, damaged)
	return errors.Join(failed...)
}
