package main

import (
	"net/url"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/spf13/cobra"
)

// runRemoteList is `lifeboat list --server`: the same output, from GET /api/v1/backups.
func runRemoteList(cmd *cobra.Command, source string, opts *listOptions) error {
	c, err := opts.client()
	if err != nil {
		return err
	}
	// fresh: the CLI holds the token, and whoever runs `lifeboat list` wants what is
	// stored now, not the server's cached listing.
	q := url.Values{"fresh": {"true"}}
	if source != "" {
		q.Set("source", source)
	}
	if opts.destination != "" {
		q.Set("destination", opts.destination)
	}
	var resp api.BackupsResponse
	if err := c.call(cmd.Context(), "GET", "/api/v1/backups?"+q.Encode(), nil, &resp); err != nil {
		return err
	}
	return printListing(cmd, resp, opts.json)
}
