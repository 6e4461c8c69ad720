package kubernetes

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
)

// clients are the API clients one backup, restore or export uses.
type clients struct {
	host     string
	rest     rest.Interface // /version and the discovery documents
	resolver *resolver
	dynamic  dynamic.Interface
}

// newClients makes the clients for api; c is the resolver's clock (nil: the wall clock).
func newClients(api *config.KubernetesAPI, c clock.Clock) (*clients, error) {
	cfg, err := kube.RESTConfig(api, "kubernetes.api")
	if err != nil {
		return nil, err
	}
	// One HTTP client (connections, token file reader) for both.
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	rc, err := kube.NewREST(cfg, hc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	return &clients{host: cfg.Host, rest: rc, resolver: newResolver(rc, c), dynamic: dyn}, nil
}

// serverVersion reads the API server's version; it is also the first call that shows
// whether the server can be reached with the configured credentials.
func (c *clients) serverVersion(ctx context.Context) (*version.Info, error) {
	var info version.Info
	if err := kube.Into(c.rest.Get().AbsPath("/version").Do(ctx), &info); err != nil {
		return nil, err
	}
	return &info, nil
}
