package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
)

// Annotation holds a Deployment's replica count while lifeboat has it scaled down; see
// the package comment for how it survives a crash.
const Annotation = "lifeboat.dev/replicas-before-restore"

type scaled struct {
	ref      config.DeploymentRef
	replicas int32
}

// ScaleDown scales every Deployment in refs to 0 and waits up to timeout for their pods to
// be gone. It returns restore, which scales them back to their original counts and removes
// the annotation; restore is meant to be called however the restore went, reports every
// failure (joined), and may be called again if it failed.
//
// When ScaleDown fails it has already scaled back what it had scaled down, and restore is
// nil.
func ScaleDown(ctx context.Context, c *kube.Client, refs []config.DeploymentRef, timeout time.Duration, logger *slog.Logger) (restore func(context.Context) error, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	var done []scaled
	rollback := func(err error) (func(context.Context) error, error) {
		// ctx itself may be what failed (the operator interrupted): scale back regardless.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if upErr := scaleUp(rctx, c, done, logger); upErr != nil {
			return nil, errors.Join(err, fmt.Errorf("scale back what was scaled down: %w", upErr))
		}
		return nil, err
	}
	for _, ref := range refs {
		n, err := replicasBefore(ctx, c, ref, logger)
		if err != nil {
			return rollback(err)
		}
		// The count is recorded before the scale, so that no moment exists at which the
		// Deployment is at 0 and nobody knows what it was.
		if err := c.Annotate(ctx, ref.Namespace, ref.Name, Annotation, strconv.Itoa(int(n))); err != nil {
			return rollback(fmt.Errorf("record the replica count of deployment %s: %w", name(ref), err))
		}
		done = append(done, scaled{ref, n})
		if err := c.SetScale(ctx, ref.Namespace, ref.Name, 0); err != nil {
			return rollback(fmt.Errorf("scale deployment %s to 0: %w", name(ref), err))
		}
		logger.Info("scaled deployment down for the restore", "deployment", name(ref), "replicas", n)
	}
	if err := waitStopped(ctx, c, refs, timeout, logger); err != nil {
		return rollback(err)
	}
	return func(ctx context.Context) error { return scaleUp(ctx, c, done, logger) }, nil
}

// replicasBefore is the count to return ref to. A Deployment at 0 that carries the
// annotation was scaled down by a run that never finished: the annotation, not the 0, is
// the count its owner wants back.
func replicasBefore(ctx context.Context, c *kube.Client, ref config.DeploymentRef, logger *slog.Logger) (int32, error) {
	d, err := c.GetDeployment(ctx, ref.Namespace, ref.Name)
	if errors.Is(err, kube.ErrNotFound) {
		return 0, fmt.Errorf("%w: check restore.scaleDown", err)
	}
	if err != nil {
		return 0, err
	}
	recorded, ok := d.Annotations[Annotation]
	switch {
	case !ok:
		return d.Replicas, nil
	case d.Replicas != 0:
		// The run that wrote it died before scaling, or someone has scaled the Deployment
		// up by hand since: the live count wins.
		logger.Warn("replacing a stale annotation from an earlier restore", "deployment", name(ref), "annotation", recorded, "replicas", d.Replicas)
		return d.Replicas, nil
	}
	n, err := strconv.ParseInt(recorded, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("deployment %s is at 0 replicas with annotation %s=%q, which is not a replica count: set it to the count the deployment should return to, or remove it (kubectl -n %s annotate deployment %s %s-)",
			name(ref), Annotation, recorded, ref.Namespace, ref.Name, Annotation)
	}
	logger.Warn("deployment is still scaled down by an earlier restore that did not finish; it will return to the recorded count", "deployment", name(ref), "replicas", n)
	return int32(n), nil
}

// scaleUp returns each Deployment to its count, in reverse order, and only then drops its
// annotation: a Deployment that could not be scaled keeps the record of its count.
func scaleUp(ctx context.Context, c *kube.Client, list []scaled, logger *slog.Logger) error {
	var errs []error
	for _, d := range slices.Backward(list) {
		if err := c.SetScale(ctx, d.ref.Namespace, d.ref.Name, d.replicas); err != nil {
			errs = append(errs, fmt.Errorf("scale deployment %s back to %d replicas (its count stays in annotation %s): %w", name(d.ref), d.replicas, Annotation, err))
			continue
		}
		if err := c.Annotate(ctx, d.ref.Namespace, d.ref.Name, Annotation, ""); err != nil {
			errs = append(errs, fmt.Errorf("deployment %s is back at %d replicas, but removing annotation %s failed: %w", name(d.ref), d.replicas, Annotation, err))
			continue
		}
		logger.Info("scaled deployment back up", "deployment", name(d.ref), "replicas", d.replicas)
	}
	return errors.Join(errs...)
}

func name(ref config.DeploymentRef) string { return ref.Namespace + "/" + ref.Name }
