package config

import (
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

func validateKubernetes(p *problems, at string, k *Kubernetes) {
	if a := k.API; a != nil {
		validateKubernetesAPI(p, field(at, "api"), a)
	}
	switch {
	case len(k.Namespaces) == 0 && k.NamespaceSelector == "":
		p.add(field(at, "namespaces"), "required: list the namespaces to back up, or set namespaceSelector to a label selector")
	case len(k.Namespaces) > 0 && k.NamespaceSelector != "":
		p.add(field(at, "namespaceSelector"), "not allowed together with namespaces; use one of them")
	}
	for i, ns := range k.Namespaces {
		np := index(field(at, "namespaces"), i)
		switch {
		case ns == "":
			p.add(np, "empty namespace name")
		case slices.Contains(k.Namespaces[:i], ns):
			p.add(np, "namespace %q is listed twice", ns)
		}
	}
	checkSelector(p, field(at, "namespaceSelector"), k.NamespaceSelector)
	for i, r := range k.Resources {
		checkResource(p, index(field(at, "resources"), i), r)
	}
	for i, g := range k.Groups {
		if g == "" || strings.ContainsAny(g, "/ ") {
			p.add(index(field(at, "groups"), i), "must be an API group name like argoproj.io (got %q)", g)
		}
	}
	for i, c := range k.ClusterResources {
		cp := index(field(at, "clusterResources"), i)
		checkResource(p, field(cp, "resource"), c.Resource)
		if len(c.Names) == 0 {
			p.add(field(cp, "names"), "required: name the objects to back up (cluster-scoped objects are chosen by name)")
		}
		for j, n := range c.Names {
			if n == "" {
				p.add(index(field(cp, "names"), j), "empty name")
			}
		}
	}
	for i, e := range k.Exclude {
		ep := index(field(at, "exclude"), i)
		if e == (KubernetesExclude{}) {
			p.add(ep, "matches every object; set at least one of resource, name, namespace, selector, type")
		}
		if e.Resource != "" {
			checkResource(p, field(ep, "resource"), e.Resource)
		}
		if _, err := path.Match(e.Name, ""); err != nil {
			p.add(field(ep, "name"), "invalid glob %q (%v)", e.Name, err)
		}
		checkSelector(p, field(ep, "selector"), e.Selector)
	}
}

// validateKubernetesAPI accepts in-cluster (nothing set), a kubeconfig, or server with
// caFile/tokenFile. caFile/tokenFile without server mean the in-cluster API server with
// that CA and token (another service account than the pod's).
func validateKubernetesAPI(p *problems, at string, a *KubernetesAPI) {
	if a.Kubeconfig != "" && (a.Server != "" || a.CAFile != "" || a.TokenFile != "") {
		p.add(field(at, "kubeconfig"), "not allowed together with server, caFile or tokenFile; use one way to reach the API server")
	}
	if a.Context != "" && a.Kubeconfig == "" {
		p.add(field(at, "context"), "needs kubeconfig")
	}
	if a.Server != "" {
		checkURL(p, field(at, "server"), a.Server)
	}
}

func checkResource(p *problems, at, r string) {
	if r == "" || r != strings.ToLower(r) || strings.ContainsAny(r, "/ ") {
		p.add(at, "must be a lowercase plural resource with an optional group, like configmaps or "+
			"roles.rbac.authorization.k8s.io (got %q)", r)
	}
}

func checkSelector(p *problems, at, sel string) {
	if sel == "" {
		return
	}
	if _, err := labels.Parse(sel); err != nil {
		p.add(at, "invalid label selector %q (%v); write it like kubectl -l, e.g. \"app=argo,tier!=test\"", sel, err)
	}
}
