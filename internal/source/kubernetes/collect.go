package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// pageSize bounds each list call; the API server hands out the rest with a continue token.
var pageSize int64 = 250

const crdResource = "customresourcedefinitions.apiextensions.k8s.io"

// resource is one resource found by discovery.
type resource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
	verbs      []string
}

// id is the resource as the config names it: resource[.group].
func (r resource) id() string { return resourceID(r.gvr.GroupResource()) }

func resourceID(gr schema.GroupResource) string {
	if gr.Group == "" {
		return gr.Resource
	}
	return gr.Resource + "." + gr.Group
}

// snapshot is what one collection read from the cluster.
type snapshot struct {
	serverVersion string
	objects       []*unstructured.Unstructured
}

// collector reads the configured objects of one source.
type collector struct {
	c   *clients
	cfg *config.Kubernetes
	log *slog.Logger
}

// discover maps every listable resource of the server by resource[.group], at its
// preferred version.
func (col *collector) discover(ctx context.Context) (map[string]resource, error) {
	v, err := col.c.resolver.current(ctx)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery at %s: %w", col.c.host, rbacHint(err, "get", "", "", ""))
	}
	if len(v.failed) > 0 {
		// A broken aggregated API (metrics-server down) must not stop a backup of
		// ConfigMaps; a group lifeboat needs and could not see is reported by collect as
		// not served.
		col.log.Warn("kubernetes discovery: some API groups are unavailable", "error", groupsFailedError(v.failed))
	}
	return v.listable(), nil
}

// collect reads every configured object (namespace restricts it to one namespace, for
// export), excluded objects left out, cleaned.
func (col *collector) collect(ctx context.Context, namespace string) (*snapshot, error) {
	info, err := col.c.serverVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("kubernetes API server %s: %w", col.c.host, rbacHint(err, "get", "", "", ""))
	}
	index, err := col.discover(ctx)
	if err != nil {
		return nil, err
	}
	var namespaced, clusterWide []resource
	for _, id := range col.cfg.Resources {
		r, ok := index[id]
		switch {
		case !ok:
			return nil, fmt.Errorf("kubernetes.resources: %q is not served by the API server at %s (is its CRD installed? write it as resource[.group], like roles.rbac.authorization.k8s.io)", id, col.c.host)
		case !r.namespaced:
			return nil, fmt.Errorf("kubernetes.resources: %q is cluster-scoped; name its objects under kubernetes.clusterResources", id)
		}
		namespaced = append(namespaced, r)
	}
	ids := make([]string, 0, len(index))
	for id := range index {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		r := index[id]
		if !slices.Contains(col.cfg.Groups, r.gvr.Group) {
			continue
		}
		if r.namespaced && !slices.ContainsFunc(namespaced, func(x resource) bool { return x.id() == id }) {
			namespaced = append(namespaced, r)
		} else if !r.namespaced {
			clusterWide = append(clusterWide, r)
		}
	}

	namespaces, err := col.namespaces(ctx, index, namespace)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	add := func(r resource, items []unstructured.Unstructured) {
		for i := range items {
			if !col.excluded(r, &items[i]) {
				objs = append(objs, &items[i])
			}
		}
	}
	objs = append(objs, namespaces...)
	for _, ns := range namespaces {
		for _, r := range namespaced {
			items, err := col.list(ctx, r, ns.GetName())
			if err != nil {
				return nil, err
			}
			add(r, items)
		}
	}
	if namespace == "" {
		cluster, err := col.clusterObjects(ctx, index, clusterWide)
		if err != nil {
			return nil, err
		}
		objs = append(objs, cluster...)
	}

	keys := map[key]bool{}
	for _, u := range objs {
		keys[keyOf(u)] = true
	}
	for _, u := range objs {
		clean(u, func(k key) bool { return keys[k] })
	}
	return &snapshot{serverVersion: info.GitVersion, objects: objs}, nil
}

// namespaces returns the Namespace objects to back up, sorted by name.
func (col *collector) namespaces(ctx context.Context, index map[string]resource, only string) ([]*unstructured.Unstructured, error) {
	nsRes, ok := index["namespaces"]
	if !ok {
		return nil, fmt.Errorf("kubernetes API server %s serves no namespaces resource", col.c.host)
	}
	names := col.cfg.Namespaces
	if only != "" {
		names = []string{only}
	}
	var out []*unstructured.Unstructured
	if len(names) > 0 {
		for _, n := range names {
			u, err := col.c.dynamic.Resource(nsRes.gvr).Get(ctx, n, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				return nil, fmt.Errorf("namespace %q does not exist on %s (kubernetes.namespaces)", n, col.c.host)
			case err != nil:
				return nil, fmt.Errorf("read namespace %s: %w", n, rbacHint(err, "get", "", "namespaces", ""))
			}
			out = append(out, u)
		}
	} else {
		items, err := col.listSelected(ctx, nsRes, "", col.cfg.NamespaceSelector)
		if err != nil {
			return nil, err
		}
		for i := range items {
			out = append(out, &items[i])
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no namespace on %s matches kubernetes.namespaceSelector %q", col.c.host, col.cfg.NamespaceSelector)
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

// clusterObjects reads the CRDs of the configured groups, every object of the groups'
// cluster-scoped resources, and the named cluster objects.
func (col *collector) clusterObjects(ctx context.Context, index map[string]resource, clusterWide []resource) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	if len(col.cfg.Groups) > 0 {
		crd, ok := index[crdResource]
		if !ok {
			return nil, fmt.Errorf("kubernetes API server %s serves no CustomResourceDefinitions", col.c.host)
		}
		items, err := col.list(ctx, crd, "")
		if err != nil {
			return nil, err
		}
		for i := range items {
			g, _, _ := unstructured.NestedString(items[i].Object, "spec", "group")
			if slices.Contains(col.cfg.Groups, g) && !col.excluded(crd, &items[i]) {
				out = append(out, &items[i])
			}
		}
	}
	for _, r := range clusterWide {
		items, err := col.list(ctx, r, "")
		if err != nil {
			return nil, err
		}
		for i := range items {
			if !col.excluded(r, &items[i]) {
				out = append(out, &items[i])
			}
		}
	}
	for i, cr := range col.cfg.ClusterResources {
		r, ok := index[cr.Resource]
		switch {
		case !ok:
			return nil, fmt.Errorf("kubernetes.clusterResources[%d]: %q is not served by the API server at %s", i, cr.Resource, col.c.host)
		case r.namespaced:
			return nil, fmt.Errorf("kubernetes.clusterResources[%d]: %q is namespaced; list it under kubernetes.resources", i, cr.Resource)
		}
		for _, name := range cr.Names {
			u, err := col.c.dynamic.Resource(r.gvr).Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				// A removed object must not stop the backups of everything else.
				col.log.Warn("kubernetes: a named cluster object does not exist; it is not in this backup",
					"resource", cr.Resource, "name", name)
				continue
			case err != nil:
				return nil, fmt.Errorf("read %s %s: %w", cr.Resource, name, rbacHint(err, "get", r.gvr.Group, r.gvr.Resource, ""))
			}
			if !slices.ContainsFunc(out, func(x *unstructured.Unstructured) bool { return keyOf(x) == keyOf(u) }) {
				out = append(out, u)
			}
		}
	}
	return out, nil
}

func (col *collector) list(ctx context.Context, r resource, ns string) ([]unstructured.Unstructured, error) {
	return col.listSelected(ctx, r, ns, "")
}

// listSelected lists one resource in one namespace ("" for cluster-scoped) page by page.
func (col *collector) listSelected(ctx context.Context, r resource, ns, selector string) ([]unstructured.Unstructured, error) {
	var (
		items []unstructured.Unstructured
		cont  string
	)
	for {
		opts := metav1.ListOptions{Limit: pageSize, Continue: cont, LabelSelector: selector}
		var (
			l   *unstructured.UnstructuredList
			err error
		)
		if ns == "" {
			l, err = col.c.dynamic.Resource(r.gvr).List(ctx, opts)
		} else {
			l, err = col.c.dynamic.Resource(r.gvr).Namespace(ns).List(ctx, opts)
		}
		if err != nil {
			where := "cluster-wide"
			if ns != "" {
				where = "in namespace " + ns
			}
			return nil, fmt.Errorf("list %s %s: %w", r.id(), where, rbacHint(err, "list", r.gvr.Group, r.gvr.Resource, ns))
		}
		for _, it := range l.Items {
			// A list's items carry no apiVersion/kind of their own in some servers' answers.
			if it.GetKind() == "" {
				it.SetAPIVersion(r.gvr.GroupVersion().String())
				it.SetKind(r.kind)
			}
			items = append(items, it)
		}
		cont = l.GetContinue()
		if cont == "" {
			return items, nil
		}
	}
}

// excluded applies the configured and default excludes.
func (col *collector) excluded(r resource, u *unstructured.Unstructured) bool {
	rules := col.cfg.Exclude
	if !col.cfg.NoDefaultExcludes {
		rules = append(slices.Clone(rules), config.DefaultKubernetesExcludes...)
	}
	for _, e := range rules {
		if matches(e, r, u) {
			return true
		}
	}
	return false
}

func matches(e config.KubernetesExclude, r resource, u *unstructured.Unstructured) bool {
	if e.Resource != "" && e.Resource != r.id() {
		return false
	}
	if e.Namespace != "" && e.Namespace != u.GetNamespace() {
		return false
	}
	if e.Name != "" {
		if ok, _ := path.Match(e.Name, u.GetName()); !ok {
			return false
		}
	}
	if e.Type != "" {
		if t, _, _ := unstructured.NestedString(u.Object, "type"); t != e.Type {
			return false
		}
	}
	if e.Selector != "" {
		sel, err := labels.Parse(e.Selector)
		if err != nil || !sel.Matches(labels.Set(u.GetLabels())) {
			return false
		}
	}
	return true
}

// rbacHint turns a 403 into an error naming what was refused and the Role rule that
// would allow it; other errors pass through.
func rbacHint(err error, verb, group, res, ns string) error {
	if !apierrors.IsForbidden(err) || res == "" {
		return err
	}
	where, role := "cluster-wide", "a ClusterRole (bound with a ClusterRoleBinding)"
	if ns != "" {
		where = "in namespace " + ns
		role = "a Role in namespace " + ns + " (or a ClusterRole bound there)"
	}
	next := "or leave the resource out of the source's kubernetes settings"
	if verb != "get" && verb != "list" {
		next = "to the account that restores (restores need get, create and patch; backups only get and list)"
	}
	return fmt.Errorf("%w: %w", errForbidden, fmt.Errorf("the API server refused %q on %s %s: %v; grant it with %s rule "+
		"{apiGroups: [%q], resources: [%q], verbs: [%q]}, %s",
		verb, resourceID(schema.GroupResource{Group: group, Resource: res}), where, err, role, group, res, verb, next))
}

var errForbidden = errors.New("permission denied")
