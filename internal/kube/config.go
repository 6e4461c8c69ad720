// Package kube reaches the Kubernetes API for lifeboat: RESTConfig is the one mapping of
// the config file's settings (in-cluster, kubeconfig and context, or server with CA and
// token files) to a client-go config, used by the restore hooks, the unseal-keys Secret
// reader and the kubernetes source kind alike; Client is the small typed part the hooks
// and the unseal keys need (the scale of a Deployment, its annotations, its pods, reading
// a Secret), with error messages that say what the operator has to change.
package kube

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// RestoreField is where restore hooks and the unseal-keys Secret reader take their API
// settings from in the config file; FromConfig names it in its errors.
const RestoreField = "restore.kubernetes"

// serviceAccountDir is where the kubelet mounts a pod's service account credentials.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// ErrNotInCluster is returned (wrapped, with the settings to use instead) when no API
// settings are configured and lifeboat does not run in a pod.
var ErrNotInCluster = errors.New("not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST unset)")

// FromConfig is RESTConfig for a source's restore.kubernetes settings.
func FromConfig(api *config.KubernetesAPI) (*rest.Config, error) {
	return RESTConfig(api, RestoreField)
}

// RESTConfig turns api into a client-go config: a kubeconfig (with its current context, or
// api.Context), an explicit server with CA and token files, or — api nil or empty — the
// service account of the pod lifeboat runs in. field is where api sits in the config file
// ("restore.kubernetes", "kubernetes.api"), for errors that name the setting to fix.
//
// A token file is re-read by client-go at least once a minute, so a projected service
// account token the kubelet rotates (well before it expires) keeps working.
func RESTConfig(api *config.KubernetesAPI, field string) (*rest.Config, error) {
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
			return nil, fmt.Errorf("%s.kubeconfig %s: %w", field, api.Kubeconfig, err)
		}
	case api != nil && api.Server != "":
		if cfg, err = explicit(api, field); err != nil {
			return nil, err
		}
	default:
		var token, ca string
		if api != nil {
			token, ca = api.TokenFile, api.CAFile
		}
		if cfg, err = inCluster(os.Getenv, serviceAccountDir, field, token, ca); err != nil {
			return nil, err
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

func explicit(api *config.KubernetesAPI, field string) (*rest.Config, error) {
	u, err := url.Parse(api.Server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s.server %q must be a URL like https://host:port", field, api.Server)
	}
	if api.TokenFile != "" {
		// client-go reads the file when the client is made, with a message that names
		// neither the setting nor the cause of an empty file.
		data, err := os.ReadFile(api.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("read kubernetes token (%s.tokenFile): %w", field, err)
		}
		if strings.TrimSpace(string(data)) == "" {
			return nil, fmt.Errorf("kubernetes token file %s (%s.tokenFile) is empty", api.TokenFile, field)
		}
	}
	return &rest.Config{Host: api.Server, BearerTokenFile: api.TokenFile,
		TLSClientConfig: rest.TLSClientConfig{CAFile: api.CAFile}}, nil
}

// inCluster is the configuration of the pod lifeboat runs in: the API server from the
// environment the kubelet sets, and the pod's service account token and CA. It is
// rest.InClusterConfig with messages that say what to configure instead, and with the
// directory as a parameter so that it can be tested.
//
// tokenFile and caFile, when set, replace the pod's own token and CA: a container can
// then act as another service account than its pod's (vault.autoRestore runs inside the
// Vault pods, yet must not lend its Secret access to Vault's own service account).
func inCluster(getenv func(string) string, dir, field, tokenFile, caFile string) (*rest.Config, error) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" {
		return nil, fmt.Errorf("%w: set %s.kubeconfig (and context), or %s.server/caFile/tokenFile", ErrNotInCluster, field, field)
	}
	if port == "" {
		port = "443"
	}
	cfg := &rest.Config{
		Host:            "https://" + net.JoinHostPort(host, port),
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(dir, "ca.crt")},
		BearerTokenFile: filepath.Join(dir, "token"),
	}
	if caFile != "" {
		cfg.CAFile = caFile
	}
	if tokenFile != "" {
		data, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read kubernetes token (%s.tokenFile): %w", field, err)
		}
		if strings.TrimSpace(string(data)) == "" {
			return nil, fmt.Errorf("kubernetes token file %s (%s.tokenFile) is empty (a service account token Secret not filled in yet?)", tokenFile, field)
		}
		cfg.BearerTokenFile = tokenFile
		return cfg, nil
	}
	// Checked here so that a pod started with automountServiceAccountToken: false fails
	// before anything is scaled, with a message that says what is missing.
	if _, err := os.Stat(cfg.BearerTokenFile); err != nil {
		return nil, fmt.Errorf("in-cluster service account token: %w: mount it (automountServiceAccountToken: true) or set %s.tokenFile", err, field)
	}
	return cfg, nil
}
