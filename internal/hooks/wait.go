package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
)

const pollInterval = time.Second

var errScaleTimeout = errors.New("scale timeout")

// busy is a scaled-down Deployment that still has something running.
type busy struct {
	ref      config.DeploymentRef
	replicas int32 // status.replicas
	selector string
	pods     []string
}

// waitStopped waits until every Deployment in refs reports 0 replicas and no pod of it is
// left, terminating ones included: a pod in its grace period can still write.
func waitStopped(ctx context.Context, c *kube.Client, refs []config.DeploymentRef, timeout time.Duration, logger *slog.Logger) error {
	wctx, cancel := context.WithTimeoutCause(ctx, timeout, errScaleTimeout)
	defer cancel()
	start := time.Now()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var left []busy
	var lastErr error
	for first := true; ; first = false {
		now, err := stillRunning(wctx, c, refs)
		if err != nil && wctx.Err() == nil {
			return fmt.Errorf("wait for pods to stop: %w", err)
		}
		lastErr = err
		if err == nil {
			if left = now; len(left) == 0 {
				logger.Info("scaled-down pods are gone", "took", time.Since(start).Round(time.Millisecond))
				return nil
			}
			if first {
				logger.Info("waiting for scaled-down pods to stop", "timeout", timeout, "waitingFor", describe(left))
			}
		}
		select {
		case <-wctx.Done():
			if cause := context.Cause(wctx); !errors.Is(cause, errScaleTimeout) {
				return fmt.Errorf("interrupted while waiting for scaled-down pods to stop: %w", cause)
			}
			if left == nil {
				return fmt.Errorf("could not check within %s that scaled-down pods stopped: %w", timeout, lastErr)
			}
			return fmt.Errorf("scaled-down pods still running after %s: %s: raise restore.scaleTimeout, or find out why they do not stop (a long terminationGracePeriodSeconds, a finalizer, an unreachable node)", timeout, describe(left))
		case <-tick.C:
		}
	}
}

func stillRunning(ctx context.Context, c *kube.Client, refs []config.DeploymentRef) ([]busy, error) {
	var out []busy
	for _, ref := range refs {
		s, err := c.GetScale(ctx, ref.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		b := busy{ref: ref, replicas: s.Status, selector: s.Selector}
		if s.Selector != "" {
			if b.pods, err = c.LivePods(ctx, ref.Namespace, s.Selector); err != nil {
				return nil, err
			}
		}
		if b.replicas > 0 || len(b.pods) > 0 {
			out = append(out, b)
		}
	}
	return out, nil
}

func describe(list []busy) string {
	parts := make([]string, 0, len(list))
	for _, b := range list {
		if len(b.pods) == 0 {
			parts = append(parts, fmt.Sprintf("deployment %s reports %d replicas", name(b.ref), b.replicas))
			continue
		}
		pods := b.pods
		if len(pods) > 5 {
			pods = append(pods[:5:5], fmt.Sprintf("and %d more", len(b.pods)-5))
		}
		parts = append(parts, fmt.Sprintf("deployment %s has pods %s (kubectl -n %s get pods -l %q)", name(b.ref), strings.Join(pods, ", "), b.ref.Namespace, b.selector))
	}
	return strings.Join(parts, "; ")
}
