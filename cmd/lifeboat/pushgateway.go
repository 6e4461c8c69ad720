package main

import (
	"cmp"
	"fmt"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/metrics"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/server"
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
func pushRunMetrics(cmd *cobra.Command, a *app.App, res *pipeline.Result, url string) {
	m := metrics.New()
	listings := server.ListDestinations(cmd.Context(), server.NewLister(a), res.Source, res.Finished)
	var names []string
	for _, l := range listings {
		names = append(names, l.Name)
	}
	// Zero counters too: a push replaces its metric names in the gateway, so an earlier
	// run's failure count must be overwritten by this run's.
	m.Init(res.Source, names)
	m.Observe(history.FromResult(res, history.TriggerCLI))
	for _, l := range listings {
		if l.Error != "" {
			continue // the run's own result already reports that destination
		}
		var newest time.Time
		if l.Newest != nil {
			newest = l.Newest.Manifest.Finished
		}
		m.SetStored(res.Source, l.Name, l.Backups, newest)
	}
	if err := m.Push(cmd.Context(), url, res.Source); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: warning: %v\n", err)
	}
}
