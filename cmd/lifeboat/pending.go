package main

import "github.com/spf13/cobra"

// addPendingCommands registers the commands whose behaviour has not landed yet. Each one
// exits non-zero with a message instead of doing something fake.
func addPendingCommands(root *cobra.Command) {
	for _, c := range []struct{ use, short string }{
		{"serve", "Run the scheduler, HTTP API, web page and metrics"},
		{"drill", "Restore a backup into a scratch instance and check it"},
		{"status", "Show the backup status of each source"},
	} {
		root.AddCommand(&cobra.Command{
			Use:                c.use,
			Short:              c.short + " (not implemented yet)",
			DisableFlagParsing: true,
			RunE:               notImplemented(c.use),
		})
	}
}
