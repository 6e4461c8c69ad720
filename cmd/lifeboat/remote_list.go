package main

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/lifeboat-backup/lifeboat/internal/server"
	"github.com/spf13/cobra"
)

// runRemoteList is `lifeboat list --server`: the same output, from GET /api/v1/backups.
func runRemoteList(cmd *cobra.Command, source string, opts *listOptions) error {
	c, err := opts.client()
	if err != nil {
		return err
	}
	q := url.Values{}
	if source != "" {
		q.Set("source", source)
	}
	if opts.destination != "" {
		q.Set("destination", opts.destination)
	}
	var resp server.BackupsResponse
	if err := c.call(cmd.Context(), "GET", "/api/v1/backups?"+q.Encode(), nil, &resp); err != nil {
		return err
	}
	var rows []listedBackup
	var problems []string
	var failed []error
	for _, l := range resp.Listings {
		if l.Error != "" {
			err := fmt.Errorf("list %s in %s: %s", l.Source, l.Destination, l.Error)
			fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: %v\n", err)
			failed = append(failed, err)
		}
		for _, b := range l.Backups {
			rows = append(rows, listedBackup{Source: l.Source, Destination: l.Destination, ID: b.ID, Created: b.Created,
				Size: b.Size, SHA256: b.SHA256, Encrypted: b.Encrypted})
		}
		for _, p := range l.Problems {
			problems = append(problems, l.Destination+": "+p)
		}
	}
	if err := printListing(cmd, rows, problems, opts.json); err != nil {
		return err
	}
	return errors.Join(failed...)
}
