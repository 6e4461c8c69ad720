package kubernetes

import (
	"fmt"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// clients are the API clients one backup, restore or export uses.
type clients struct {
	host      string
	discovery discovery.DiscoveryInterface
	dynamic   dynamic.Interface
}

// restConfig turns the source's api settings into a client-go config: a kubeconfig,
// an explicit server with CA and token files, or (nothing set) the pod's service account.
func restConfig(api *config.KubernetesAPI) (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	switch {
	case api != nil && api.Kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: api.Kubeconfig}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
			&clientcmd.ConfigOverrides{CurrentContext: api.Context}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", api.Kubeconfig, err)
		}
	case api != nil && api.Server != "":
		cfg = &rest.Config{Host: api.Server, BearerTokenFile: api.TokenFile,
			TLSClientConfig: rest.TLSClientConfig{CAFile: api.CAFile}}
	default:
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster Kubernetes config: %w; outside a pod set kubernetes.api.kubeconfig "+
				"or kubernetes.api.server/caFile/tokenFile", err)
		}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "lifeboat"
	// Defaults of 5 qps would make a backup of a few thousand objects crawl; the API
	// server's priority and fairness protects it instead.
	cfg.QPS, cfg.Burst = 50, 100
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	return cfg, nil
}

func newClients(api *config.KubernetesAPI) (*clients, error) {
	cfg, err := restConfig(api)
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
