package config

// KindKubernetes is the source kind for a cluster's configuration objects.
const KindKubernetes = "kubernetes"

// DefaultKubernetesGroups are the API groups whose custom resources a kubernetes source
// backs up when groups is left out: the workflow platform's (Argo Workflows).
var DefaultKubernetesGroups = []string{"argoproj.io"}

// DefaultKubernetesResources are the namespaced resources a kubernetes source backs up
// when resources is left out, as resource[.group] like kubectl writes them.
var DefaultKubernetesResources = []string{
	"configmaps", "secrets", "serviceaccounts",
	"roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io",
}

// Kubernetes is the configuration of a workflow platform held in a Kubernetes cluster:
// ConfigMaps, Secrets, ServiceAccounts, RBAC and custom resources of some namespaces, and
// named cluster-scoped objects.
type Kubernetes struct {
	// API says how to reach the API server; left out means in-cluster (the pod's service
	// account).
	API *KubernetesAPI `json:"api,omitempty"`
	// Namespaces names the namespaces backed up; NamespaceSelector (a label selector such
	// as "platform=workflows") selects them instead. Exactly one is required.
	Namespaces        []string `json:"namespaces,omitempty"`
	NamespaceSelector string   `json:"namespaceSelector,omitempty"`
	// Resources are the namespaced resources backed up, as resource[.group]
	// ("configmaps", "roles.rbac.authorization.k8s.io"). Default DefaultKubernetesResources.
	Resources []string `json:"resources,omitempty"`
	// Groups are API groups whose every namespaced resource, every cluster-scoped
	// resource (e.g. ClusterWorkflowTemplates) and CustomResourceDefinitions are backed
	// up too. Default [argoproj.io]; [] turns it off.
	Groups []string `json:"groups"`
	// ClusterResources are named cluster-scoped objects (ClusterRoles, ClusterRoleBindings,
	// other CRDs).
	ClusterResources []KubernetesClusterObjects `json:"clusterResources,omitempty"`
	// Exclude leaves objects out. The defaults (service-account token Secrets, Helm
	// release Secrets sh.helm.release.v1.*, the kube-root-ca.crt ConfigMap, Argo's run
	// state: Workflows, WorkflowTaskResults, WorkflowTaskSets, WorkflowArtifactGCTasks)
	// apply unless NoDefaultExcludes is set.
	Exclude           []KubernetesExclude `json:"exclude,omitempty"`
	NoDefaultExcludes bool                `json:"noDefaultExcludes,omitempty"`
}

// KubernetesClusterObjects names cluster-scoped objects of one resource.
type KubernetesClusterObjects struct {
	Resource string   `json:"resource"` // resource[.group], e.g. clusterroles.rbac.authorization.k8s.io
	Names    []string `json:"names"`
}

// KubernetesExclude matches objects to leave out; every field set must match.
type KubernetesExclude struct {
	Resource  string `json:"resource,omitempty"`  // resource[.group]; empty matches every resource
	Name      string `json:"name,omitempty"`      // a glob (path.Match), e.g. "sh.helm.release.v1.*"
	Namespace string `json:"namespace,omitempty"` // exact
	Selector  string `json:"selector,omitempty"`  // a label selector
	Type      string `json:"type,omitempty"`      // a Secret's type
}

// DefaultKubernetesExcludes are applied unless noDefaultExcludes is set: what a cluster
// or a tool recreates by itself, and what would be wrong to restore elsewhere.
var DefaultKubernetesExcludes = []KubernetesExclude{
	{Resource: "secrets", Type: "kubernetes.io/service-account-token"},
	{Resource: "secrets", Type: "helm.sh/release.v1"},
	{Resource: "secrets", Name: "sh.helm.release.v1.*"},
	{Resource: "configmaps", Name: "kube-root-ca.crt"},
	// Argo Workflows' run state: finished workflows live in the metadata database, and
	// restoring running ones would start them again.
	{Resource: "workflows.argoproj.io"},
	{Resource: "workflowtaskresults.argoproj.io"},
	{Resource: "workflowtasksets.argoproj.io"},
	{Resource: "workflowartifactgctasks.argoproj.io"},
}
