package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/spf13/cobra"
)

// loadApp reads the config named by --config. A config problem is a usage error (exit 3):
// nothing ran, and the message names the field to fix.
func loadApp(cmd *cobra.Command) (*app.App, error) {
	path, _ := cmd.Flags().GetString("config")
	cfg, err := config.Load(path)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			return nil, withExitCode(exitUsage, err)
		}
		return nil, withExitCode(exitUsage, fmt.Errorf("%w (use --config or LIFEBOAT_CONFIG to point at the config file)", err))
	}
	a := &app.App{Config: cfg, Version: lifeboatVersion(), Logger: slog.Default()}
	if f := cmd.Flags().Lookup(allowUnsignedFlag); f != nil {
		a.AllowUnsigned, _ = cmd.Flags().GetBool(allowUnsignedFlag)
	}
	return a, nil
}

const allowUnsignedFlag = "allow-unsigned"

// addAllowUnsigned gives a command that reads backups the --allow-unsigned flag, which
// loadApp carries into app.App.AllowUnsigned.
func addAllowUnsigned(cmd *cobra.Command) {
	cmd.Flags().Bool(allowUnsignedFlag, false, "with signing.publicKeys configured, also use backups that are unsigned "+
		"(taken before signing was enabled) or signed by a key not listed; a bad signature is refused always")
}

// sourceNames returns the named source, or every configured one.
func sourceNames(a *app.App, only string) ([]string, error) {
	if only != "" {
		if _, err := a.Config.Source(only); err != nil {
			return nil, usageError("%w", err)
		}
		return []string{only}, nil
	}
	var names []string
	for _, s := range a.Config.Sources {
		names = append(names, s.Name)
	}
	return names, nil
}

// classify maps app errors to exit codes: a bad request is a usage error (exit 3).
func classify(err error) error {
	if err != nil && errors.Is(err, app.ErrUsage) {
		return withExitCode(exitUsage, err)
	}
	return err
}

func humanBytes(n int64) string { return catalog.HumanSize(n) }

// optionalArg is the single optional positional argument ("" when absent).
func optionalArg(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return ""
}

// printDamaged warns about each damaged copy: never hidden, whatever the command.
func printDamaged(cmd *cobra.Command, damaged []api.DamagedCopy) {
	for _, d := range damaged {
		fmt.Fprintf(cmd.ErrOrStderr(), "lifeboat: warning: unusable backup %s in %s: DAMAGED: %s\n", d.ID, d.Destination, d.Reason)
	}
}
