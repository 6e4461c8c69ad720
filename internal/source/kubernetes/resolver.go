package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
)

// refreshInterval is how old the resolver's view must be before a kind it does not know
// makes it read discovery again. A restore that plans many objects of a CRD the cluster
// does not have yet asks for that kind once per object; each of those asks must not cost
// a whole discovery.
var refreshInterval = time.Second

// discoveryWorkers bounds the group versions read at once.
const discoveryWorkers = 8

// resolver answers which resources the API server serves, from its discovery documents
// (/api, /apis, /api/v1, /apis/<group>/<version>): the part of client-go's discovery
// client and REST mapper lifeboat needs, without their OpenAPI dependencies. Its view is
// cached until invalidate, or until a kind it does not know is asked for (a CRD installed
// since, by this restore or by someone else). It is safe for concurrent use.
type resolver struct {
	rc    rest.Interface
	clock clock.Clock

	mu    sync.Mutex
	view  *apiView
	loads int // discovery reads so far, for tests
}

func newResolver(rc rest.Interface, c clock.Clock) *resolver {
	return &resolver{rc: rc, clock: clock.Or(c)}
}

// apiView is what the server served at one reading of its discovery.
type apiView struct {
	at time.Time
	// preferred holds every resource by resource[.group], at the group's preferred
	// version when it is served there, else at the first version that serves it (the
	// order the server lists its versions in), as client-go's ServerPreferredResources.
	preferred map[string]resource
	// kinds maps an exact group, version and kind to its resource. A kind spelled in
	// lower case is found too, as client-go's REST mapper finds it.
	kinds map[schema.GroupVersionKind]resource
	// groupKinds maps a kind without a version to its resource at the preferred version.
	groupKinds map[schema.GroupKind]resource
	// failed is the group versions whose resources could not be read (an aggregated API
	// that is down); everything else is still known.
	failed map[schema.GroupVersion]error
}

// groupsFailedError lists the group versions discovery could not read.
type groupsFailedError map[schema.GroupVersion]error

func (e groupsFailedError) Error() string {
	var parts []string
	for gv, err := range e {
		parts = append(parts, fmt.Sprintf("%s: %v", gv, err))
	}
	sort.Strings(parts)
	return "unable to retrieve the complete list of server APIs: " + strings.Join(parts, ", ")
}

// current returns the cached view, reading discovery if there is none.
func (r *resolver) current(ctx context.Context) (*apiView, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.view != nil {
		return r.view, nil
	}
	return r.reloadLocked(ctx)
}

// invalidate makes the next question read discovery again.
func (r *resolver) invalidate() {
	r.mu.Lock()
	r.view = nil
	r.mu.Unlock()
}

// resourceFor maps gvk to the resource that serves it (gvk.Version empty: at the
// preferred version); ok is false when the server does not serve it. A kind missing
// from a view older than refreshInterval is looked for again in a fresh one.
func (r *resolver) resourceFor(ctx context.Context, gvk schema.GroupVersionKind) (res resource, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.view
	if v == nil {
		if v, err = r.reloadLocked(ctx); err != nil {
			return resource{}, false, err
		}
	}
	if res, ok := v.lookup(gvk); ok {
		return res, true, nil
	}
	if r.clock.Now().Sub(v.at) < refreshInterval {
		return resource{}, false, nil
	}
	if v, err = r.reloadLocked(ctx); err != nil {
		return resource{}, false, err
	}
	res, ok = v.lookup(gvk)
	return res, ok, nil
}

func (v *apiView) lookup(gvk schema.GroupVersionKind) (resource, bool) {
	if gvk.Version == "" {
		res, ok := v.groupKinds[gvk.GroupKind()]
		return res, ok
	}
	if res, ok := v.kinds[gvk]; ok {
		return res, true
	}
	gvk.Kind = strings.ToLower(gvk.Kind)
	res, ok := v.kinds[gvk]
	return res, ok
}

// reloadLocked reads discovery and caches the view; r.mu is held.
func (r *resolver) reloadLocked(ctx context.Context) (*apiView, error) {
	v, err := r.read(ctx)
	if err != nil {
		return nil, err
	}
	r.view = v
	r.loads++
	return v, nil
}

// read reads the server's groups and every version's resources. A group version that
// fails is read once more, then left out and recorded in failed; only a server of which
// nothing at all could be read is an error.
func (r *resolver) read(ctx context.Context) (*apiView, error) {
	at := r.clock.Now()
	var core metav1.APIVersions
	if err := kube.Into(r.rc.Get().AbsPath("/api").Do(ctx), &core); err != nil {
		return nil, fmt.Errorf("GET /api: %w", err)
	}
	var list metav1.APIGroupList
	if err := kube.Into(r.rc.Get().AbsPath("/apis").Do(ctx), &list); err != nil {
		return nil, fmt.Errorf("GET /apis: %w", err)
	}
	groups := list.Groups
	if len(core.Versions) > 0 {
		g := metav1.APIGroup{PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: core.Versions[0], Version: core.Versions[0]}}
		for _, v := range core.Versions {
			g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: v, Version: v})
		}
		groups = append([]metav1.APIGroup{g}, groups...)
	}
	var gvs []schema.GroupVersion
	for _, g := range groups {
		for _, v := range g.Versions {
			gvs = append(gvs, schema.GroupVersion{Group: g.Name, Version: v.Version})
		}
	}
	lists, failed := r.readResources(ctx, gvs)
	if len(failed) > 0 && ctx.Err() == nil {
		var again []schema.GroupVersion
		for gv := range failed {
			again = append(again, gv)
		}
		more, stillFailed := r.readResources(ctx, again)
		for gv, l := range more {
			lists[gv] = l
		}
		failed = stillFailed
	}
	if len(lists) == 0 && len(failed) > 0 {
		return nil, groupsFailedError(failed)
	}

	v := &apiView{at: at, preferred: map[string]resource{}, kinds: map[schema.GroupVersionKind]resource{},
		groupKinds: map[schema.GroupKind]resource{}, failed: failed}
	for _, g := range groups {
		for _, ver := range g.Versions {
			gv := schema.GroupVersion{Group: g.Name, Version: ver.Version}
			l, ok := lists[gv]
			if !ok {
				continue
			}
			isPreferred := ver.Version == g.PreferredVersion.Version
			for _, ar := range l.APIResources {
				if strings.Contains(ar.Name, "/") { // a subresource
					continue
				}
				res := resource{gvr: gv.WithResource(ar.Name), kind: ar.Kind, namespaced: ar.Namespaced, verbs: ar.Verbs}
				if _, seen := v.preferred[res.id()]; !seen || isPreferred {
					v.preferred[res.id()] = res
				}
				v.kinds[gv.WithKind(ar.Kind)] = res
				if lower := gv.WithKind(strings.ToLower(ar.Kind)); lower.Kind != ar.Kind {
					if _, taken := v.kinds[lower]; !taken {
						v.kinds[lower] = res
					}
				}
				if gk := gv.WithKind(ar.Kind).GroupKind(); isPreferred {
					v.groupKinds[gk] = res
				} else if _, seen := v.groupKinds[gk]; !seen {
					v.groupKinds[gk] = res
				}
			}
		}
	}
	return v, nil
}

// readResources reads the resource lists of gvs, a few at a time.
func (r *resolver) readResources(ctx context.Context, gvs []schema.GroupVersion) (map[schema.GroupVersion]*metav1.APIResourceList, map[schema.GroupVersion]error) {
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		lists  = map[schema.GroupVersion]*metav1.APIResourceList{}
		failed = map[schema.GroupVersion]error{}
		slots  = make(chan struct{}, discoveryWorkers)
	)
	for _, gv := range gvs {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			path := "/apis/" + gv.Group + "/" + gv.Version
			if gv.Group == "" {
				path = "/api/" + gv.Version
			}
			l := &metav1.APIResourceList{}
			err := kube.Into(r.rc.Get().AbsPath(path).Do(ctx), l)
			// client-go tolerates a core v1 that answers 404 as serving nothing.
			if gv.Group == "" && gv.Version == "v1" && apierrors.IsNotFound(err) {
				err = nil
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[gv] = err
				return
			}
			lists[gv] = l
		})
	}
	wg.Wait()
	return lists, failed
}

// listable is every resource that can be listed, by resource[.group], at its preferred
// version.
func (v *apiView) listable() map[string]resource {
	out := map[string]resource{}
	for id, r := range v.preferred {
		if slices.Contains(r.verbs, "list") {
			out[id] = r
		}
	}
	return out
}
