// Package kubernetes is the kubernetes source kind: the configuration of a workflow
// platform held in a cluster (ConfigMaps, Secrets, ServiceAccounts, RBAC, custom
// resources and their CRDs), backed up as a deterministic tar of cleaned YAML documents
// and restored with server-side apply.
package kubernetes

import (
	"context"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Kind is the kubernetes source kind.
type Kind struct{}

var _ source.Kind = Kind{}

func (Kind) Name() string        { return config.KindKubernetes }
func (Kind) RestoreFlag() string { return "resources" }

func (Kind) NewSource(src *config.Source) (source.Source, error) {
	if src.Kubernetes == nil {
		return nil, fmt.Errorf("%w: source %s is not a kubernetes source", source.ErrUsage, src.Name)
	}
	return &Source{name: src.Name, cfg: src.Kubernetes}, nil
}

// Check reads the whole archive and counts its objects.
func (Kind) Check(_ context.Context, _ *config.Source, r io.Reader) (string, error) {
	objs, err := readArchive(r)
	if err != nil {
		return "", err
	}
	return describeObjects(objs), nil
}

func (Kind) Describe(m *catalog.Manifest) string {
	k := m.Kubernetes
	if k == nil {
		return "kubernetes objects"
	}
	namespaces := map[string]bool{}
	for _, c := range k.Objects {
		if c.Namespace != "" {
			namespaces[c.Namespace] = true
		}
	}
	return fmt.Sprintf("%d kubernetes objects in %d namespaces (Kubernetes %s)", k.Total(), len(namespaces), k.ServerVersion)
}

func (Kind) Restore(src *config.Source, o source.RestoreOptions, env source.Env) (source.Restore, error) {
	if src.Kubernetes == nil {
		return nil, fmt.Errorf("%w: source %s has no kubernetes settings", source.ErrUsage, src.Name)
	}
	for old, n := range o.NamespaceMap {
		if old == "" || n == "" || strings.Contains(n, "/") {
			return nil, fmt.Errorf("%w: --namespace-map %s=%s: write it as old=new", source.ErrUsage, old, n)
		}
	}
	for _, only := range o.Only {
		if k, n, ok := strings.Cut(only, "/"); !ok || k == "" || n == "" {
			return nil, fmt.Errorf("%w: --only %q: write it as kind/name, like ConfigMap/workflow-controller-configmap", source.ErrUsage, only)
		}
	}
	return &liveRestore{src: src, opts: o, env: env}, nil
}

func (Kind) Drill(src *config.Source, env source.Env) (source.Restore, error) {
	if src.Kubernetes == nil {
		return nil, fmt.Errorf("%w: source %s has no kubernetes settings", source.ErrUsage, src.Name)
	}
	return &drill{src: src, env: env}, nil
}

// liveRestore applies a backup to the source's cluster.
type liveRestore struct {
	src  *config.Source
	opts source.RestoreOptions
	env  source.Env
	a    *applier
}

func (r *liveRestore) Prepare(ctx context.Context) error {
	c, err := newClients(r.src.Kubernetes.API, r.env.Clock)
	if err != nil {
		return err
	}
	if _, err := c.serverVersion(ctx); err != nil {
		return fmt.Errorf("kubernetes API server %s: %w", c.host, err)
	}
	r.a = newApplier(c, r.env)
	return nil
}

// Check dry-runs every object and prints what the restore changes.
func (r *liveRestore) Check(ctx context.Context, b *source.Backup) error {
	objs, err := r.selected(ctx, b)
	if err != nil {
		return err
	}
	changes, err := r.a.plan(ctx, objs)
	if err != nil {
		return fmt.Errorf("dry-run of %s: %w", b.Label, err)
	}
	counts := map[string]int{}
	r.env.Printf("server-side dry-run of %s against %s:\n", b.Label, r.a.c.host)
	for _, c := range changes {
		counts[c.Action]++
		r.env.Printf("  %-9s %s\n", c.Action, c.Object)
	}
	r.env.Printf("%d to create, %d to update, %d unchanged\n", counts["create"], counts["update"], counts["unchanged"])
	return nil
}

func (r *liveRestore) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	objs, err := r.selected(ctx, b)
	if err != nil {
		return nil, err
	}
	want := map[string]int{}
	for _, u := range objs {
		want[u.GetKind()]++
	}
	applied, err := r.a.run(ctx, objs)
	if err != nil {
		return nil, fmt.Errorf("restore of %s stopped (objects applied before this one stay applied; "+
			"server-side apply is idempotent, so running the restore again is safe): %w", b.Label, err)
	}
	return kindChecks("applied", applied, want), nil
}

func (r *liveRestore) selected(ctx context.Context, b *source.Backup) ([]*unstructured.Unstructured, error) {
	if r.a == nil {
		return nil, errNoClients
	}
	objs, err := readBackup(ctx, b)
	if err != nil {
		return nil, err
	}
	return selection(objs, r.opts.NamespaceMap, r.opts.Only)
}
