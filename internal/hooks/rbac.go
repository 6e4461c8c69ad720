package hooks

// RequiredRBAC is the Role rules lifeboat's service account needs in every namespace
// that holds a Deployment listed in restore.scaleDown; the Helm chart's Role copies it,
// and TestAround/least_privilege proves it is enough:
//   - get deployments: read the replica count, and the annotation an interrupted run left
//   - patch deployments: write and remove the lifeboat.dev/replicas-before-restore annotation
//   - get, patch deployments/scale: scale to 0 and back
//   - list pods: wait until the scaled-down pods are really gone (status.replicas drops
//     while pods are still terminating)
//
// The chart may narrow the deployments rules with resourceNames (the scaleDown names);
// list cannot be narrowed that way.
const RequiredRBAC = `- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
`
