// Package vault backs up and restores a Vault or OpenBao cluster on Integrated Storage
// (raft) through its HTTP API, always from the raft leader.
package vault

import "time"

// Options says how to reach and authenticate to the cluster. Secrets are functions so they
// are read at login time: Kubernetes rotates projected tokens, operators rotate files.
type Options struct {
	// Address is the usual entry point (often the -active service). Nodes, when set, are
	// the individual node addresses, so the leader can be found even when Address is a
	// load balancer or points at a standby.
	Address string
	Nodes   []string
	TLS     TLS
	// Namespace is used for login only: raft snapshots are root-namespace operations.
	Namespace string
	// Timeout bounds each API call except the snapshot stream itself.
	Timeout time.Duration
	Auth    Auth
}

// TLS settings for every connection to Vault.
type TLS struct {
	CACert     string
	ClientCert string
	ClientKey  string
	ServerName string
	SkipVerify bool
}

// Auth methods.
const (
	AuthToken      = "token"
	AuthAppRole    = "approle"
	AuthKubernetes = "kubernetes"
)

// Auth says how lifeboat logs in.
type Auth struct {
	Method string
	// Describe names where the credential comes from ("file:/var/run/..."), for errors.
	Describe string
	Token    func() (string, error)
	RoleID   func() (string, error)
	SecretID func() (string, error)
	// MountPath of the approle or kubernetes auth method.
	MountPath string
	// Role and TokenPath for Kubernetes auth.
	Role      string
	TokenPath string
}

// SnapshotPolicy is the Vault policy a backup token needs, shown in permission errors.
const SnapshotPolicy = `path "sys/storage/raft/snapshot" { capabilities = ["read"] }`

// RestorePolicy is what a restore needs (raft restore is a root-protected endpoint).
const RestorePolicy = `path "sys/storage/raft/snapshot" { capabilities = ["update", "sudo"] }
path "sys/storage/raft/snapshot-force" { capabilities = ["update", "sudo"] }`
