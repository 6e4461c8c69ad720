// Package hooks runs what surrounds a restore: the operator's before and after commands
// and the scale-down of the Deployments that write to the source being restored (a
// workflow controller must not write into a database while it is being replaced).
//
// The order is fixed: Before commands, scale-down, the restore, scale-up, After commands.
// Scale-up (of whatever was scaled down) and the After commands are cleanup: they run in
// every case — also when a Before command, the scale-down or the restore failed, or the
// operator interrupted the restore — so an After command that undoes a Before command
// always gets its chance. After commands see LIFEBOAT_RESTORE_RESULT=ok|failed.
//
// Surviving a crash: before a Deployment is scaled down its replica count is written to
// the annotation lifeboat.dev/replicas-before-restore. If lifeboat dies mid-restore, the
// Deployment stays at 0 with the annotation. The next `lifeboat restore` of the source
// takes the count from the annotation and scales back to it at the end; an operator can
// do the same by hand:
//
//	kubectl -n NS scale deployment NAME --replicas="$(kubectl -n NS get deployment NAME \
//	  -o jsonpath='{.metadata.annotations.lifeboat\.dev/replicas-before-restore}')"
//	kubectl -n NS annotate deployment NAME lifeboat.dev/replicas-before-restore-
package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
)

// DefaultScaleTimeout bounds the wait for scaled-down pods when restore.scaleTimeout is 0.
const DefaultScaleTimeout = 5 * time.Minute

// ResultEnv tells After commands how the restore went: "ok" or "failed".
const ResultEnv = "LIFEBOAT_RESTORE_RESULT"

// ClientFactory makes the Kubernetes client on first use, so a restore without scaleDown
// never needs an API server (or a service account).
type ClientFactory func() (*kube.Client, error)

// ClientFrom is the ClientFactory for the config file's settings (nil: in-cluster).
func ClientFrom(api *config.KubernetesAPI) ClientFactory {
	return func() (*kube.Client, error) {
		cfg, err := kube.FromConfig(api)
		if err != nil {
			return nil, err
		}
		return kube.New(cfg)
	}
}

// Around runs restore inside the hooks h (nil: no hooks). It returns restore's error,
// joined with any error from the hooks; a failing Before command or scale-down means
// restore is never called.
//
// Cleanup ignores the cancellation of ctx — an operator's Ctrl-C during a restore must not
// leave a controller at 0 replicas — and gets its own budget of the scale timeout for the
// scale-up and again for the After commands.
func Around(ctx context.Context, h *config.RestoreHooks, newClient ClientFactory, logger *slog.Logger, restore func(context.Context) error) error {
	if h == nil {
		return restore(ctx)
	}
	if logger == nil {
		logger = slog.Default()
	}
	timeout := h.ScaleTimeout.Duration
	if timeout <= 0 {
		timeout = DefaultScaleTimeout
	}

	var scaleUp func(context.Context) error
	err := func() error {
		if err := Run(ctx, h.Before, h.PassEnv, nil, logger); err != nil {
			return fmt.Errorf("restore not started: before hook: %w", err)
		}
		if len(h.ScaleDown) > 0 {
			c, err := newClient()
			if err != nil {
				return fmt.Errorf("restore not started: kubernetes client for scaleDown: %w", err)
			}
			if scaleUp, err = ScaleDown(ctx, c, h.ScaleDown, timeout, logger); err != nil {
				return fmt.Errorf("restore not started: %w", err)
			}
		}
		return restore(ctx)
	}()

	errs := []error{err}
	if scaleUp != nil {
		upCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		if err := scaleUp(upCtx); err != nil {
			errs = append(errs, fmt.Errorf("scale deployments back up: %w", err))
		}
		cancel()
	}
	result := "ok"
	if err != nil {
		result = "failed"
	}
	afterCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := Run(afterCtx, h.After, h.PassEnv, []string{ResultEnv + "=" + result}, logger); err != nil {
		errs = append(errs, fmt.Errorf("after hook: %w", err))
	}
	if len(errs) == 1 {
		return err // cleanup went fine: the restore's error as it is
	}
	return errors.Join(errs...)
}
