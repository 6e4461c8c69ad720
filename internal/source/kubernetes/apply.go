package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// FieldManager owns the fields lifeboat applies.
const FieldManager = "lifeboat"

// crdEstablishTimeout bounds the wait for restored CRDs to serve their resources.
const crdEstablishTimeout = 2 * time.Minute

// Phases of a restore: what others depend on goes first.
const (
	phaseDefinitions = iota // CustomResourceDefinitions and Namespaces
	phaseIdentity           // ServiceAccounts and RBAC
	phaseConfig             // ConfigMaps and Secrets
	phaseRest               // custom resources and everything else
)

var phaseNames = []string{"CRDs and namespaces", "service accounts and RBAC", "ConfigMaps and Secrets", "custom resources and the rest"}

func phaseOf(u *unstructured.Unstructured) int {
	k := keyOf(u)
	switch {
	case k.Group == "apiextensions.k8s.io" && k.Kind == "CustomResourceDefinition", k.Group == "" && k.Kind == "Namespace":
		return phaseDefinitions
	case k.Group == "" && k.Kind == "ServiceAccount",
		k.Group == "rbac.authorization.k8s.io":
		return phaseIdentity
	case k.Group == "" && (k.Kind == "ConfigMap" || k.Kind == "Secret"):
		return phaseConfig
	}
	return phaseRest
}

// ordered sorts objects into restore order: by phase, then by path.
func ordered(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := slices.Clone(objs)
	slices.SortStableFunc(out, func(a, b *unstructured.Unstructured) int {
		if pa, pb := phaseOf(a), phaseOf(b); pa != pb {
			return pa - pb
		}
		return strings.Compare(keyOf(a).Path(), keyOf(b).Path())
	})
	return out
}

// selection is what a restore applies: the backup's objects, filtered by --only and
// moved by --namespace-map.
func selection(objs []*unstructured.Unstructured, nsMap map[string]string, only []string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	if len(only) > 0 {
		used := make([]bool, len(only))
		namespaces := map[string]bool{}
		for _, u := range objs {
			for i, o := range only {
				kind, name, _ := strings.Cut(o, "/")
				k := keyOf(u)
				if name == k.Name && (strings.EqualFold(kind, k.Kind) || strings.EqualFold(kind, k.Kind+"."+k.Group)) {
					used[i] = true
					out = append(out, u)
					namespaces[k.Namespace] = true
					break
				}
			}
		}
		for i, ok := range used {
			if !ok {
				return nil, fmt.Errorf("%w: --only %s matches no object in the backup (write it as kind/name, like ConfigMap/workflow-controller-configmap)", source.ErrUsage, only[i])
			}
		}
		// The namespaces of the chosen objects come along, so that they apply into an
		// empty cluster.
		for _, u := range objs {
			if k := keyOf(u); k.Group == "" && k.Kind == "Namespace" && namespaces[k.Name] && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	} else {
		out = slices.Clone(objs)
	}
	if len(nsMap) == 0 {
		return out, nil
	}
	for old := range nsMap {
		if !slices.ContainsFunc(objs, func(u *unstructured.Unstructured) bool { return u.GetNamespace() == old }) {
			return nil, fmt.Errorf("%w: --namespace-map %s=%s: the backup holds nothing in namespace %s", source.ErrUsage, old, nsMap[old], old)
		}
	}
	for i, u := range out {
		u = u.DeepCopy()
		if n, ok := nsMap[u.GetNamespace()]; ok {
			u.SetNamespace(n)
		}
		k := keyOf(u)
		if k.Group == "" && k.Kind == "Namespace" {
			if n, ok := nsMap[u.GetName()]; ok {
				u.SetName(n)
				unstructured.RemoveNestedField(u.Object, "metadata", "labels", "kubernetes.io/metadata.name")
			}
		}
		// Bindings name service accounts by namespace.
		if k.Group == "rbac.authorization.k8s.io" && (k.Kind == "RoleBinding" || k.Kind == "ClusterRoleBinding") {
			subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
			for _, s := range subjects {
				if m, ok := s.(map[string]any); ok {
					if n, ok := nsMap[fmt.Sprint(m["namespace"])]; ok {
						m["namespace"] = n
					}
				}
			}
			if subjects != nil {
				_ = unstructured.SetNestedSlice(u.Object, subjects, "subjects")
			}
		}
		out[i] = u
	}
	return out, nil
}

// applier applies objects to one cluster with server-side apply.
type applier struct {
	c   *clients
	env source.Env
}

func newApplier(c *clients, env source.Env) *applier {
	return &applier{c: c, env: env}
}

// resourceFor maps an object to its resource client; ok false when the server does not
// serve its kind (yet).
func (a *applier) resourceFor(ctx context.Context, u *unstructured.Unstructured) (dynamic.ResourceInterface, resource, bool, error) {
	r, ok, err := a.c.resolver.resourceFor(ctx, u.GroupVersionKind())
	if err != nil {
		return nil, resource{}, false, fmt.Errorf("map %s to a resource: %w", keyOf(u), err)
	}
	if !ok {
		return nil, resource{}, false, nil
	}
	if r.namespaced {
		return a.c.dynamic.Resource(r.gvr).Namespace(u.GetNamespace()), r, true, nil
	}
	return a.c.dynamic.Resource(r.gvr), r, true, nil
}

// apply server-side applies u (dryRun: without persisting anything).
func (a *applier) apply(ctx context.Context, ri dynamic.ResourceInterface, u *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	out, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
	if err != nil {
		// Server-side apply of a missing object is authorised as create.
		verb := "patch"
		if _, gerr := ri.Get(ctx, u.GetName(), metav1.GetOptions{}); apierrors.IsNotFound(gerr) {
			verb = "create"
		}
		gvr := schema.GroupVersionResource{}
		if r, ok, _ := a.c.resolver.resourceFor(ctx, u.GroupVersionKind()); ok {
			gvr = r.gvr
		}
		return nil, fmt.Errorf("apply %s: %w", keyOf(u), rbacHint(err, verb, gvr.Group, gvr.Resource, u.GetNamespace()))
	}
	return out, nil
}

// Change is what a restore would do to one object.
type Change struct {
	Action string // create, update or unchanged
	Object string
}

// plan dry-runs every object and says what a restore would change.
func (a *applier) plan(ctx context.Context, objs []*unstructured.Unstructured) ([]Change, error) {
	inBackup := map[key]bool{}
	for _, u := range objs {
		inBackup[keyOf(u)] = true
	}
	var changes []Change
	for _, u := range ordered(objs) {
		k := keyOf(u)
		ri, _, served, err := a.resourceFor(ctx, u)
		if err != nil {
			return nil, err
		}
		if !served {
			if !crdInBackup(objs, u) {
				return nil, fmt.Errorf("%s: the API server does not serve kind %s and the backup holds no CRD for it; install the CRD first",
					k, u.GroupVersionKind())
			}
			changes = append(changes, Change{"create", k.String()})
			continue
		}
		live, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			// Dry-run the create too, so that what the API server would refuse (a
			// schema, a webhook, a permission) stops the restore before anything is
			// applied. Into a namespace the restore creates first it cannot be tried.
			if _, err := a.apply(ctx, ri, withOwners(ctx, a, u), true); err != nil &&
				!(apierrors.IsNotFound(err) && u.GetNamespace() != "" && namespaceInSelection(objs, u.GetNamespace())) {
				return nil, err
			}
			changes = append(changes, Change{"create", k.String()})
			continue
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", k, rbacHint(err, "get", "", "", ""))
		}
		dry, err := a.apply(ctx, ri, withOwners(ctx, a, u), true)
		if err != nil {
			return nil, err
		}
		action := "unchanged"
		if !reflect.DeepEqual(comparable(live), comparable(dry)) {
			action = "update"
		}
		changes = append(changes, Change{action, k.String()})
	}
	return changes, nil
}

// comparable drops what every write changes.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy().Object
	for _, f := range []string{"managedFields", "resourceVersion", "generation"} {
		unstructured.RemoveNestedField(c, "metadata", f)
	}
	return c
}

func namespaceInSelection(objs []*unstructured.Unstructured, ns string) bool {
	return slices.ContainsFunc(objs, func(u *unstructured.Unstructured) bool {
		k := keyOf(u)
		return k.Group == "" && k.Kind == "Namespace" && k.Name == ns
	})
}

func crdInBackup(objs []*unstructured.Unstructured, u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return slices.ContainsFunc(objs, func(c *unstructured.Unstructured) bool {
		if k := keyOf(c); k.Group != "apiextensions.k8s.io" || k.Kind != "CustomResourceDefinition" {
			return false
		}
		g, _, _ := unstructured.NestedString(c.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(c.Object, "spec", "names", "kind")
		return g == gvk.Group && kind == gvk.Kind
	})
}

// withOwners fills in the live uid of each owner; an owner that does not exist (yet) is
// left out, since a reference to a missing uid gets the object garbage-collected.
func withOwners(ctx context.Context, a *applier, u *unstructured.Unstructured) *unstructured.Unstructured {
	refs := u.GetOwnerReferences()
	if len(refs) == 0 {
		return u
	}
	u = u.DeepCopy()
	var keep []metav1.OwnerReference
	for _, r := range refs {
		owner := &unstructured.Unstructured{}
		owner.SetAPIVersion(r.APIVersion)
		owner.SetKind(r.Kind)
		owner.SetNamespace(u.GetNamespace())
		ri, _, served, err := a.resourceFor(ctx, owner)
		if err != nil || !served {
			continue
		}
		live, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		r.UID = live.GetUID()
		keep = append(keep, r)
	}
	u.SetOwnerReferences(keep)
	return u
}

// run applies objs in dependency order and returns the count of applied objects per kind.
func (a *applier) run(ctx context.Context, objs []*unstructured.Unstructured) (map[string]int, error) {
	applied := map[string]int{}
	byPhase := map[int][]*unstructured.Unstructured{}
	for _, u := range ordered(objs) {
		byPhase[phaseOf(u)] = append(byPhase[phaseOf(u)], u)
	}
	for phase := phaseDefinitions; phase <= phaseRest; phase++ {
		if len(byPhase[phase]) == 0 {
			continue
		}
		a.env.Printf("applying %s (%d objects)\n", phaseNames[phase], len(byPhase[phase]))
		var crds []*unstructured.Unstructured
		for _, u := range byPhase[phase] {
			ri, _, served, err := a.resourceFor(ctx, u)
			if err != nil {
				return applied, err
			}
			if !served {
				return applied, fmt.Errorf("%s: the API server does not serve kind %s (its CRD is neither installed nor in the backup)", keyOf(u), u.GroupVersionKind())
			}
			if _, err := a.apply(ctx, ri, withOwners(ctx, a, u), false); err != nil {
				return applied, err
			}
			applied[u.GetKind()]++
			a.env.Printf("  applied %s\n", keyOf(u))
			if u.GetKind() == "CustomResourceDefinition" {
				crds = append(crds, u)
			}
		}
		if len(crds) > 0 {
			if err := a.waitEstablished(ctx, crds); err != nil {
				return applied, err
			}
		}
	}
	return applied, nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// waitEstablished waits until every CRD in crds is Established and its kind is in the
// API server's discovery, which the server updates a moment after Established: only then
// can the custom resources of the next phase be applied.
func (a *applier) waitEstablished(ctx context.Context, crds []*unstructured.Unstructured) error {
	// The new resources are only known to a fresh discovery.
	a.c.resolver.invalidate()
	for _, crd := range crds {
		name := crd.GetName()
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		established, served := false, false
		var lastErr error
		err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, crdEstablishTimeout, true, func(ctx context.Context) (bool, error) {
			if !established {
				u, err := a.c.dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					lastErr = err
					return false, nil
				}
				conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
				established = slices.ContainsFunc(conds, func(c any) bool {
					m, ok := c.(map[string]any)
					return ok && m["type"] == "Established" && m["status"] == "True"
				})
				if !established {
					return false, nil
				}
			}
			// A kind the resolver misses makes it read discovery again, at most once a
			// refreshInterval.
			_, ok, err := a.c.resolver.resourceFor(ctx, schema.GroupVersionKind{Group: group, Kind: kind})
			if err != nil {
				lastErr = err
			}
			served = ok
			return ok, nil
		})
		switch {
		case err == nil:
		case !established:
			return fmt.Errorf("CRD %s was applied but is not Established after %s (check its status conditions: "+
				"kubectl get crd %s -o yaml): %w", name, crdEstablishTimeout, name, errors.Join(err, lastErr))
		case !served:
			return fmt.Errorf("CRD %s is Established but the API server's discovery does not list kind %s.%s after %s: %w",
				name, kind, group, crdEstablishTimeout, errors.Join(err, lastErr))
		}
	}
	return nil
}

// readBackup reads and checks the archive of b.
func readBackup(ctx context.Context, b *source.Backup) ([]*unstructured.Unstructured, error) {
	rc, err := b.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	objs, err := readArchive(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Label, err)
	}
	// Drain so that a destination reader checks size and sha256 at its end.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Label, err)
	}
	return objs, nil
}

// kindCounts turns counts per kind into sorted checks.
func kindChecks(prefix string, done, want map[string]int) []source.Check {
	kinds := make([]string, 0, len(want))
	for k := range want {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var checks []source.Check
	for _, k := range kinds {
		checks = append(checks, source.NewCheck(prefix+" "+k, done[k] == want[k], "%d of %d objects", done[k], want[k]))
	}
	return checks
}

var errNoClients = errors.New("restore not prepared")
