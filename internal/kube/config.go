// Package kube is the small part of the Kubernetes API lifeboat needs: the scale of a
// Deployment, its annotations, its pods, and reading a Secret. It speaks plain JSON over
// net/http instead of importing client-go, which would pull in a large dependency tree
// for a handful of calls.
package kube

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// Config says how to reach and authenticate to an API server.
type Config struct {
	Server string // https://host:port
	// CAData or CAFile (PEM) is the CA the server's certificate chains to; neither means
	// the system roots.
	CAFile string
	CAData []byte
	// Token is a fixed bearer token. TokenFile is read on every request instead, because
	// projected service account tokens are rotated by the kubelet while the pod runs.
	TokenFile string
	Token     string
}

// serviceAccountDir is where the kubelet mounts a pod's service account credentials.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// ErrNotInCluster is returned by InCluster outside a pod.
var ErrNotInCluster = errors.New("not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST unset): set restore.kubernetes.server/caFile/tokenFile")

// InCluster is the configuration of the pod lifeboat runs in: the API server from the
// environment the kubelet sets, and the pod's service account token and CA.
func InCluster() (Config, error) {
	return inCluster(os.Getenv, serviceAccountDir)
}

func inCluster(getenv func(string) string, dir string) (Config, error) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" {
		return Config{}, ErrNotInCluster
	}
	if port == "" {
		port = "443"
	}
	cfg := Config{
		Server:    "https://" + net.JoinHostPort(host, port),
		CAFile:    filepath.Join(dir, "ca.crt"),
		TokenFile: filepath.Join(dir, "token"),
	}
	// Checked here so that a pod started with automountServiceAccountToken: false fails
	// before anything is scaled, with a message that says what is missing.
	if _, err := os.Stat(cfg.TokenFile); err != nil {
		return Config{}, fmt.Errorf("in-cluster service account token: %w: mount it (automountServiceAccountToken: true) or set restore.kubernetes.tokenFile", err)
	}
	return cfg, nil
}

// FromConfig turns the config file's settings into a Config; nil or an empty server
// means in-cluster.
func FromConfig(api *config.KubernetesAPI) (Config, error) {
	if api == nil || api.Server == "" {
		return InCluster()
	}
	return Config{Server: api.Server, CAFile: api.CAFile, TokenFile: api.TokenFile}, nil
}
