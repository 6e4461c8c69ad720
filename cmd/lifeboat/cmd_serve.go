package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/server"
	"github.com/spf13/cobra"
)

type serveOptions struct {
	baseline      bool
	shutdownGrace time.Duration
	secureCookie  bool
}

func newServeCmd() *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the scheduler, HTTP API, web page and metrics",
		Long: `Run lifeboat as a long-lived agent: each source with a schedule (5-field cron, UTC, plus
optional jitter) is backed up on time, never twice at once; the run history is kept in
server.historyPath (in memory when empty); an HTTP API under /api/v1, a "Backup & Restore"
web page at /, Prometheus metrics at /metrics and /healthz and /readyz are served on
server.listen (HTTPS with server.tls).

At start, a source whose newest backup (in any destination) is older than one schedule
interval, or which has none, is backed up at once (--baseline=false turns this off).

server.token must be at least 16 bytes. Wrong tokens are rate-limited per client address
(429 with Retry-After). Web sessions end on sign-out, on POST /api/v1/sessions/revoke and
when the server restarts. Without a token, serve listens on loopback only and answers only
Host localhost, 127.0.0.1 or [::1]. Behind an ingress or proxy that terminates TLS,
pass --secure-cookie so browsers send the page's session cookie only over HTTPS.

On SIGTERM or SIGINT the server stops accepting requests and starting backups, lets a
running backup finish for up to --shutdown-grace, then cancels it: its uploads are
abandoned and no destination commits a partial backup (one cancelled while it writes its
manifests stays committed where they were written, and is recorded partial). A second
signal cancels at once.

See docs/serve.md for the API, authentication and metrics.

Exit codes:
  0  stopped cleanly after a signal
  1  the server failed (port in use, history file locked)
  3  bad flags or configuration (including unreadable or mismatched server.tls files)`,
		Example: `  lifeboat serve --config /etc/lifeboat/lifeboat.yaml
  curl -H "Authorization: Bearer $(cat token)" http://127.0.0.1:8080/api/v1/status`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, opts) },
	}
	cmd.Flags().BoolVar(&opts.baseline, "baseline", true, "at start, back up every scheduled source whose newest backup is older than one interval")
	cmd.Flags().DurationVar(&opts.shutdownGrace, "shutdown-grace", 5*time.Minute, "on SIGTERM, how long a running backup may go on before it is cancelled")
	cmd.Flags().BoolVar(&opts.secureCookie, "secure-cookie", false, "mark the web page's session cookie Secure even on plain HTTP (behind a proxy or ingress that terminates TLS)")
	return cmd
}

func runServe(cmd *cobra.Command, opts *serveOptions) error {
	if opts.shutdownGrace <= 0 {
		return usageError("--shutdown-grace must be positive (got %s)", opts.shutdownGrace)
	}
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	cfg := a.Config.Server
	var token string
	if cfg.Token.IsSet() {
		if token, err = cfg.Token.Resolve(); err != nil {
			return usageError("server.token: %w", err)
		}
	} else {
		slog.Warn("server.token is not set: the API and page are open to local processes and nothing can be triggered over them; set server.token: {file: /path}")
	}
	tlsCfg, err := server.LoadTLS(cfg.TLS)
	if err != nil {
		return usageError("%w", err)
	}
	hist, err := openHistory(cfg.HistoryPath, cfg.HistoryLimit)
	if err != nil {
		return err
	}
	defer hist.Close()
	srv, err := server.New(server.Options{
		App: a, History: hist, Token: token, Baseline: opts.baseline, ShutdownGrace: opts.shutdownGrace,
		SecureCookie: opts.secureCookie,
	})
	if err != nil {
		return usageError("%w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; change server.listen or stop what uses the port", cfg.Listen, err)
	}
	ctx := cmd.Context()
	stopAbort := abortOnSecondSignal(ctx, srv)
	defer stopAbort()
	return srv.Serve(ctx, ln, tlsCfg)
}

func openHistory(path string, limit int) (history.Store, error) {
	if path == "" {
		slog.Warn("server.historyPath is not set: the run history is kept in memory and lost on restart")
		return history.NewMemory(limit), nil
	}
	return history.OpenBolt(path, limit)
}

// abortOnSecondSignal cancels running backups when a second SIGTERM/SIGINT arrives during
// the shutdown grace period (an impatient operator, or a kubelet about to SIGKILL).
func abortOnSecondSignal(ctx context.Context, srv *server.Server) func() {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
			srv.Abort()
		case <-done:
		}
	}()
	return func() { close(done) }
}
