package kubernetes

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

var namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// drill applies a backup with server-side dry-run into a scratch namespace: the API
// server validates and admits every object (schemas, RBAC escalation checks, webhooks)
// and persists nothing. Cluster-scoped objects are dry-run as they are.
type drill struct {
	src *config.Source
	env source.Env
	a   *applier
}

// ScratchNamespace is the namespace a drill dry-runs into.
func (d *drill) scratchNamespace() string {
	return "lifeboat-drill-" + d.env.Time().Format("20060102-150405")
}

func (d *drill) Prepare(ctx context.Context) error {
	c, err := newClients(d.src.Kubernetes.API, d.env.Clock)
	if err != nil {
		return err
	}
	if _, err := c.serverVersion(ctx); err != nil {
		return fmt.Errorf("kubernetes API server %s: %w", c.host, err)
	}
	d.a = newApplier(c, d.env)
	return nil
}

func (d *drill) Check(context.Context, *source.Backup) error { return nil }

func (d *drill) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	if d.a == nil {
		return nil, errNoClients
	}
	objs, err := readBackup(ctx, b)
	if err != nil {
		return nil, err
	}
	scratch := d.scratchNamespace()
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(scratch)
	ns.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "lifeboat", "lifeboat.dev/drill": "true"})
	nsClient := d.a.c.dynamic.Resource(namespaceGVR)
	if _, err := nsClient.Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create the drill's scratch namespace %s: %w", scratch, rbacHint(err, "create", "", "namespaces", ""))
	}
	defer func() {
		if err := nsClient.Delete(context.WithoutCancel(ctx), scratch, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			d.env.Log().Warn("drill: could not delete the scratch namespace", "namespace", scratch, "err", err)
		}
	}()
	d.env.Printf("dry-run of %d objects into scratch namespace %s\n", len(objs), scratch)

	want, done := map[string]int{}, map[string]int{}
	var failures []string
	for _, u := range ordered(objs) {
		if k := keyOf(u); k.Group == "" && k.Kind == "Namespace" {
			continue
		}
		u = u.DeepCopy()
		want[u.GetKind()]++
		if u.GetNamespace() != "" {
			u.SetNamespace(scratch)
			u.SetOwnerReferences(nil)
		}
		ri, _, served, err := d.a.resourceFor(ctx, u)
		if err != nil {
			return nil, err
		}
		if !served {
			failures = append(failures, fmt.Sprintf("%s: kind %s is not served by this cluster", keyOf(u), u.GroupVersionKind()))
			continue
		}
		if _, err := d.a.apply(ctx, ri, u, true); err != nil {
			failures = append(failures, err.Error())
			continue
		}
		done[u.GetKind()]++
	}
	for _, f := range failures {
		d.env.Printf("  refused: %s\n", f)
	}
	checks := kindChecks("dry-run", done, want)
	if m := b.Manifest; m != nil && m.Kubernetes != nil {
		total := len(objs)
		checks = append(checks, source.NewCheck("object count", m.Kubernetes.Total() == total,
			"archive holds %d objects, manifest recorded %d", total, m.Kubernetes.Total()))
	}
	return checks, nil
}
