// Package server is `lifeboat serve`: cron schedules per source, a run history, a JSON
// API under /api/v1, the "Backup & Restore" web page, Prometheus /metrics, and /healthz
// and /readyz. Backups run through the same app.App as the CLI.
package server

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/drill"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/metrics"
	"github.com/lifeboat-backup/lifeboat/internal/notify"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// BackupFunc runs one backup of source (to the destinations only, or all of them when
// empty) with the backup id id, which the server has handed out before the run starts.
type BackupFunc func(ctx context.Context, source string, only []string, id string) (*pipeline.Result, error)

// Options configures a Server. App and History are required.
type Options struct {
	App     *app.App
	History history.Store
	// Backup defaults to App.Backup; tests pass a pipeline over a fake source.
	Backup BackupFunc
	// Drill defaults to drill.Run on the newest backup; used for sources[].drill.schedule.
	Drill   DrillFunc
	Metrics *metrics.Metrics // default metrics.New()
	Clock   clock.Clock      // default App.Clock, else clock.Real
	Logger  *slog.Logger     // default App.Logger
	// Token is the resolved server.token; empty disables every state-changing endpoint.
	// It must be at least MinTokenLen bytes.
	Token string
	// SecureCookie marks the page's session cookie Secure even on plain HTTP: for a
	// server behind a proxy that terminates TLS, where r.TLS is always nil.
	SecureCookie bool
	// Baseline runs a backup at start for each scheduled source whose newest backup is
	// older than one schedule interval.
	Baseline bool
	// ShutdownGrace is how long Shutdown lets running backups finish before cancelling
	// them. Default 5m.
	ShutdownGrace time.Duration
	// RefreshEvery re-lists every destination for status and metrics. Default 5m.
	RefreshEvery time.Duration
	// Notify delivers notifications; default App.Notifier, counted in Metrics.
	Notify *notify.Dispatcher
}

// Server is one `lifeboat serve` process.
type Server struct {
	opts   Options
	app    *app.App
	log    *slog.Logger
	clock  clock.Clock
	hist   history.Store
	met    *metrics.Metrics
	inv    *listings
	tmpl   *template.Template
	sched  map[string]*schedule // by source; only sources with a schedule
	drills map[string]cron.Schedule

	lastDrills drillLog // the last drill this server ran per source, for the page
	// drillDetails remembers the detail of drill records read for the page (write-once).
	drillDetails sync.Map

	sessionKey []byte // signs the page's session cookies; derived from the token once
	revoked    *revokedSessions
	failures   *failureLimiter // wrong tokens per client address

	mu        sync.Mutex
	running   map[string]string // source -> id of its running run
	stopping  bool
	runs      sync.WaitGroup
	runCtx    context.Context // parent of every run; cancelled when the grace ends
	cancelRun context.CancelFunc

	bgCancel context.CancelFunc // schedulers and refresher
	bg       sync.WaitGroup

	notify  *notify.Dispatcher // nil: no notifications (notify.go)
	damaged damagedSeen
}

// New checks the options and builds the server; Start begins scheduling.
func New(opts Options) (*Server, error) {
	if opts.App == nil || opts.App.Config == nil || opts.History == nil {
		return nil, errors.New("server: App, App.Config and History are required")
	}
	if opts.Backup == nil {
		opts.Backup = opts.App.Backup
	}
	if opts.Drill == nil {
		a := opts.App
		opts.Drill = func(ctx context.Context, source string) (*drill.Report, error) {
			return drill.Run(ctx, a, source, drill.Options{})
		}
	}
	if opts.Token != "" && len(opts.Token) < MinTokenLen {
		return nil, fmt.Errorf("server.token is %d bytes long; use at least %d, for example a new one from "+
			"`head -c 32 /dev/urandom | base64 > token`", len(opts.Token), MinTokenLen)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Or(opts.App.Clock)
	}
	if opts.Logger == nil {
		opts.Logger = opts.App.Logger
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 5 * time.Minute
	}
	if opts.RefreshEvery <= 0 {
		opts.RefreshEvery = 5 * time.Minute
	}
	s := &Server{
		opts: opts, app: opts.App, log: opts.Logger, clock: opts.Clock, hist: opts.History,
		met: opts.Metrics, inv: newListings(), running: map[string]string{},
		sessionKey: sessionKeyFor(opts.Token, newSessionNonce()), revoked: newRevokedSessions(),
		failures: newFailureLimiter(opts.Clock),
	}
	s.tmpl = s.templates()
	s.notify = opts.Notify
	if s.notify == nil {
		s.notify = opts.App.Notifier(opts.Metrics)
	}
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	var err error
	if s.sched, err = schedules(opts.App.Config.Sources); err != nil {
		return nil, err
	}
	if s.drills, err = drillSchedules(opts.App.Config.Sources); err != nil {
		return nil, err
	}
	for source := range s.drills {
		s.met.InitDrill(source)
	}
	for _, src := range opts.App.Config.Sources {
		names, err := s.app.DestinationNames(src.Name, "")
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		s.met.Init(src.Name, names)
	}
	return s, nil
}

// Start closes the records of runs a previous process left running (and counts them as
// failed runs in the metrics), then starts the schedules (with their baseline checks) and
// the periodic catalog refresh.
func (s *Server) Start(ctx context.Context) error {
	closed, err := history.Interrupted(ctx, s.hist, s.clock.Now())
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	for _, r := range closed {
		s.met.Observe(r)
	}
	s.notifyInterrupted(closed)
	if len(closed) > 0 {
		s.log.Warn("closed the records of runs interrupted when lifeboat last stopped", "runs", len(closed))
	}
	s.seedLastSuccess(ctx)
	names := make([]string, 0, len(s.app.Config.Sources))
	for _, src := range s.app.Config.Sources {
		names = append(names, src.Name)
	}
	s.inv.expect(names)
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.bgCancel = cancel
	for _, src := range s.app.Config.Sources {
		s.bg.Go(func() { s.sourceLoop(bg, src.Name) })
	}
	for source, spec := range s.drills {
		s.bg.Go(func() { s.drillLoop(bg, source, spec) })
	}
	s.bg.Go(func() { s.refreshLoop(bg) })
	return nil
}

// Shutdown stops scheduling and refuses new runs, lets running backups finish for up to
// ShutdownGrace (or until ctx ends), then cancels them: the pipeline abandons their
// uploads, so nothing half-written is committed (a run cancelled while it writes its
// manifests stays committed where they were written, and is recorded partial). It
// returns when every run has ended.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.stopping = true
	busy := len(s.running)
	s.mu.Unlock()
	if s.bgCancel != nil {
		s.bgCancel()
	}
	s.bg.Wait()
	done := make(chan struct{})
	go func() { s.runs.Wait(); close(done) }()
	if busy > 0 {
		s.log.Info("waiting for running backups before stopping", "runs", busy, "grace", s.opts.ShutdownGrace)
	}
	stop, release := s.clock.Timer(s.opts.ShutdownGrace)
	defer release()
	select {
	case <-done:
	case <-stop:
		s.log.Warn("shutdown grace period over: cancelling running backups; a destination holds one only if its manifest was written", "grace", s.opts.ShutdownGrace)
	case <-ctx.Done():
		s.log.Warn("shutdown forced: cancelling running backups; a destination holds one only if its manifest was written")
	}
	s.cancelRun()
	<-done
}

// Ready reports whether the server takes requests (false once Shutdown began).
func (s *Server) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.stopping
}

// Abort cancels running backups now, without waiting for the grace period (a second
// SIGTERM). Their uploads are abandoned; see Shutdown for what stays committed.
func (s *Server) Abort() {
	s.log.Warn("aborting running backups")
	s.cancelRun()
}
