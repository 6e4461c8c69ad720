package config

// RestoreHooks run around a restore of a source: commands before and after, and a
// built-in scale-down of the Deployments that write to the source (a workflow controller
// must not write into a database while it is being replaced). Original replica counts are
// restored afterwards, also when the restore fails.
type RestoreHooks struct {
	// ScaleDown lists Deployments scaled to 0 before the restore and back after it.
	ScaleDown []DeploymentRef `json:"scaleDown,omitempty"`
	// Before and After are commands (argv lists, no shell unless you call one) run before
	// and after the restore. A failing Before command aborts the restore; After commands
	// run even when the restore failed, with LIFEBOAT_RESTORE_RESULT=ok|failed.
	Before [][]string `json:"before,omitempty"`
	After  [][]string `json:"after,omitempty"`
	// PassEnv names variables of lifeboat's environment the commands also get. Otherwise
	// they see only PATH, HOME, TMPDIR, the locale, TZ, KUBERNETES_SERVICE_HOST/PORT and
	// LIFEBOAT_RESTORE_RESULT: none of lifeboat's credentials.
	PassEnv []string `json:"passEnv,omitempty"`
	// Kubernetes says how to reach the API server for ScaleDown (and for a vault source's
	// unseal keys in a Secret); empty means in-cluster (the pod's service account).
	Kubernetes *KubernetesAPI `json:"kubernetes,omitempty"`
	// ScaleTimeout bounds the wait for scaled-down pods to be gone. Default 5m.
	ScaleTimeout Duration `json:"scaleTimeout,omitzero"`
}

// DeploymentRef names one Deployment.
type DeploymentRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// KubernetesAPI overrides the in-cluster API server settings (for running outside a pod).
type KubernetesAPI struct {
	Server    string `json:"server,omitempty"`    // https://host:port
	CAFile    string `json:"caFile,omitempty"`    // PEM CA of the API server
	TokenFile string `json:"tokenFile,omitempty"` // bearer token file; without server: in-cluster API server, this token
	// Kubeconfig is a kubeconfig file used instead of server/caFile/tokenFile, with
	// Context (default: its current context).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
}
