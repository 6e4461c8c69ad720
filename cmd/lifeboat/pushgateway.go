package main

import (
	"cmp"
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/metrics"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/spf13/cobra"
)

// pushgatewayURL picks the Pushgateway for a one-shot run (flag, else config) and checks
// it before the run starts, so a bad URL is a usage error up front rather than a warning
// after an hour-long backup.
func pushgatewayURL(flag string, a *app.App) (string, error) {
	url := cmp.Or(flag, a.Config.Pushgateway)
	if url == "" {
		return "", nil
	}
	if err := metrics.CheckPushURL(url); err != nil {
		return "", withExitCode(exitUsage, err)
	}
	return url, nil
}

// pushRunMetrics pushes the metrics `lifeboat serve` would export for this run. A failed
// push is reported but does not change the exit code: the backup itself is what the
// code describes, and a staleness alert on the pushed last-success time still fires.
func pushRunMetrics(cmd *cobra.Command, a *app.App, m *metrics.Metrics, res *pipeline.Result, url string) {
	inv, err := a.Inventory(cmd.Context(), res.Source, "")
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: warning: %v\n", err)
		return
	}
	var names []string
	for _, l := range inv.Listings {
		names = append(names, l.Name)
	}
	// Zero counters too: a push replaces its metric names in the gateway, so an earlier
	// run's failure count must be overwritten by this run's.
	m.Init(res.Source, names)
	m.Observe(history.FromResult(res, history.TriggerCLI))
	m.ObserveInventory(inv)
	if err := m.Push(cmd.Context(), url, res.Source); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: warning: %v\n", err)
	}
}
