package main

import (
	"io"
	"log/slog"
	"os"

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
(directory/PVC, S3, MinIO, R2) from a single read, writes a manifest with a sha256 last so a
backup is either committed everywhere it succeeded or absent, prunes by retention policy
per destination, and verifies and restores.

Exit codes:
  0  success
  1  failure (for backup: no destination accepted the backup)
  2  partial success: some destinations failed (backup, prune, mirror)
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
	)
	root.AddCommand(newServeCmd(), newStatusCmd())
	return root
}
