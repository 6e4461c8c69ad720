package app

import (
	"context"
	"errors"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/metrics"
	"github.com/lifeboat-backup/lifeboat/internal/notify"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// Notifier is the dispatcher of the config's notifications, nil (which sends nothing)
// when none are configured. Undelivered notifications are counted in m when it is set.
func (a *App) Notifier(m *metrics.Metrics) *notify.Dispatcher {
	if len(a.Config.Notifications) == 0 {
		return nil
	}
	o := notify.Options{Logger: a.Logger, Clock: a.Clock}
	if m != nil {
		for _, n := range a.Config.Notifications {
			m.InitNotifier(n.Name)
		}
		o.Failed = m.NotificationFailed
	}
	return notify.New(a.Config.Notifications, o)
}

// NotifyRun sends the notifications of a one-shot run. Such a run has no history, so
// whether it is a recovery is judged from what the destinations hold (notify.Previous),
// listed only when a notifier wants recoveries. It returns once every notifier got the
// notice or was given up on, within notify.Retry's bound, even when ctx is cancelled
// (a CronJob stopped mid-run still reports its failure).
func (a *App) NotifyRun(ctx context.Context, d *notify.Dispatcher, res *pipeline.Result) {
	if d == nil || res == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	r := history.FromResult(res, history.TriggerCLI)
	previous := ""
	if r.Status == string(pipeline.StatusOK) && d.Wants(config.EventRecovery) {
		if inv, err := a.Inventory(ctx, res.Source, ""); err == nil {
			interval, jitter := a.scheduleOf(res.Source)
			previous = notify.Previous(inv, r.ID, r.Started, interval, jitter)
		}
	}
	d.Send(ctx, notify.ForRun(r, previous))
}

// NotifyVerify sends damaged-copy for every copy a verification found damaged, missing
// or failing; a clean verification sends nothing.
func (a *App) NotifyVerify(ctx context.Context, d *notify.Dispatcher, source string, v *Verification) {
	if d == nil || v == nil {
		return
	}
	copies := append(notify.DamagedCopies(v.Damaged), notify.MissingCopies(v.Missing)...)
	for _, c := range v.Copies {
		if c.Err != nil {
			copies = append(copies, notify.Copy{Backup: c.Manifest.ID, Destination: c.Dest.Name, Problem: notify.ProblemFailed, Reason: c.Err.Error()})
		}
	}
	d.Send(context.WithoutCancel(ctx), notify.ForCopies(source, copies))
}

// scheduleOf is the source's schedule interval and jitter, zero without a schedule.
func (a *App) scheduleOf(source string) (interval, jitter time.Duration) {
	src, err := a.Config.Source(source)
	if err != nil || src.Schedule == "" {
		return 0, 0
	}
	spec, err := cron.ParseStandard(src.Schedule)
	if err != nil {
		return 0, src.Jitter.Duration
	}
	n1 := spec.Next(clock.Or(a.Clock).Now())
	return spec.Next(n1).Sub(n1), src.Jitter.Duration
}

// NotifyDrill sends drill-failure for a drill that failed (err is the drill's outcome,
// or why it could not start: no backup to drill is a failed drill too). A usage error
// (an unknown source, no drill settings) is the caller's to report, not news.
func (a *App) NotifyDrill(ctx context.Context, d *notify.Dispatcher, source, backup, from string, err error) {
	if d == nil || err == nil || errors.Is(err, ErrUsage) {
		return
	}
	d.Send(context.WithoutCancel(ctx), notify.ForDrill(source, backup, from, err))
}
