package kubernetes

import (
	"fmt"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kube"
)

// clients are the API clients one backup, restore or export uses.
type clients struct {
	host      string
	discovery discovery.DiscoveryInterface
	dynamic   dynamic.Interface
}

func newClients(api *config.KubernetesAPI) (*clients, error) {
	cfg, err := kube.RESTConfig(api, "kubernetes.api")
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery client for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	return &clients{host: cfg.Host, discovery: disc, dynamic: dyn}, nil
}
