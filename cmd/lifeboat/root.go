package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	configPath string
	logFormat  string
	logLevel   string
}

func (o *globalOptions) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVarP(&o.configPath, "config", "c", envOr("LIFEBOAT_CONFIG", "lifeboat.yaml"), "configuration file (env LIFEBOAT_CONFIG)")
	f.StringVar(&o.logFormat, "log-format", envOr("LIFEBOAT_LOG_FORMAT", "auto"), "log format: text, json, or auto (text on a terminal, json otherwise) (env LIFEBOAT_LOG_FORMAT)")
	f.StringVar(&o.logLevel, "log-level", envOr("LIFEBOAT_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env LIFEBOAT_LOG_LEVEL)")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// logger builds the process logger. Logs go to stderr so stdout stays for command output
// (lists, JSON) that scripts parse.
func (o *globalOptions) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, usageError("--log-level: must be debug, info, warn or error (got %q)", o.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	format := o.logFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, usageError("--log-format: must be text, json or auto (got %q)", o.logFormat)
	}
}

func newRootCmd() *cobra.Command {
	opts := &globalOptions{}
	root := &cobra.Command{
		Use:   "lifeboat",
		Short: "Back up and restore Vault/OpenBao raft clusters and workflow PostgreSQL databases",
		Long: `lifeboat takes leader-aware raft snapshots of Vault/OpenBao and pg_dump backups of the
workflow platform's PostgreSQL database, streams each one to every configured destination
(directory/PVC, S3, MinIO, R2, GCS, Azure Blob Storage) from a single read, writes a manifest with a sha256 last so a
backup is either committed everywhere it succeeded or absent, signs that manifest with
ed25519 when signing is configured (lifeboat keygen) so restores use only backups lifeboat
wrote, prunes by retention policy per destination, and verifies and restores.

Exit codes:
  0  success
  1  failure (for backup: no destination accepted the backup)
  2  partial success: some destinations failed, others succeeded (backup, prune,
     mirror); for verify: some copies failed or a destination could not be listed
  3  bad flags, arguments or configuration`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := opts.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			slog.SetDefault(logger)
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%w", err) })
	opts.addFlags(root)
	root.AddCommand(
		newVersionCmd(),
		newBackupCmd(),
		newListCmd(),
		newVerifyCmd(),
		newPruneCmd(),
		newMirrorCmd(),
		newRestoreCmd(),
		newVaultCmd(),
		newDrillCmd(),
		newRecoverCmd(),
		newExportCmd(),
		newKeygenCmd(),
	)
	root.AddCommand(newServeCmd(), newStatusCmd())
	usageArgs(root)
	return root
}

// usageArgs makes wrong positional arguments a usage error (exit 3) in the whole tree, as
// bad flags are, instead of cobra's plain error (exit 1). Commands that only group others
// get a validator that rejects unknown subcommands: cobra checks that only on the root, so
// `lifeboat vault bogus` would otherwise print help and exit 0.
func usageArgs(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		usageArgs(c)
	}
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = unknownCommand
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	validate := cmd.Args
	if validate == nil {
		return
	}
	cmd.Args = func(c *cobra.Command, args []string) error {
		if err := validate(c, args); err != nil {
			return usageError("%w; see '%s --help'", err, c.CommandPath())
		}
		return nil
	}
}

// unknownCommand rejects any argument of a command that only groups subcommands, with
// cobra's suggestions.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default, applied only in its unexported path
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return errors.New(msg)
}
