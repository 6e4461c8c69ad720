package config

// Vault is a Vault or OpenBao cluster on Integrated Storage (raft).
type Vault struct {
	// Address is the cluster's API address (e.g. the active service); required unless
	// Nodes is given. lifeboat always takes the snapshot from the raft leader.
	Address string `json:"address,omitempty"`
	// Nodes are the API addresses of the individual servers, tried to find the leader
	// when Address is not set or does not lead to it.
	Nodes         []string `json:"nodes,omitempty"`
	CACert        string   `json:"caCert,omitempty"`
	ClientCert    string   `json:"clientCert,omitempty"`
	ClientKey     string   `json:"clientKey,omitempty"`
	TLSServerName string   `json:"tlsServerName,omitempty"`
	TLSSkipVerify bool     `json:"tlsSkipVerify,omitempty"`
	// AllowInsecureHTTP lets address and nodes use plain http:// to a host other than
	// loopback. Off by default: over plain HTTP the Vault token and every snapshot cross
	// the network readable by anyone on the path.
	AllowInsecureHTTP bool   `json:"allowInsecureHTTP,omitempty"`
	Namespace         string `json:"namespace,omitempty"` // Vault Enterprise / OpenBao namespace
	// Timeout bounds each Vault API call (login, leader discovery, status). The snapshot
	// stream itself is long: it is bounded by stall detection instead. Default 30s.
	Timeout Duration  `json:"timeout,omitzero"`
	Auth    VaultAuth `json:"auth,omitzero"`
	// Compression says whether lifeboat zstd-compresses the snapshot: auto (default)
	// compresses a snapshot whose gzip stores its data uncompressed (OpenBao's, since
	// 2.4) and stores one the server already compressed (HashiCorp Vault's) as it came;
	// zstd always compresses; none never does. A compressed snapshot is stored as
	// data.snap.zst: restore it with lifeboat, or `zstd -d` it before the plain CLI.
	Compression string `json:"compression,omitempty"`
	// CompressionLevel and CompressionThreads are as for postgres.
	CompressionLevel   int `json:"compressionLevel,omitempty"`
	CompressionThreads int `json:"compressionThreads,omitempty"`
}

// Vault compression modes.
const (
	VaultCompressionAuto = "auto"
	VaultCompressionZstd = "zstd"
	VaultCompressionNone = "none"
)

// VaultCompressions are the values of vault.compression.
var VaultCompressions = []string{VaultCompressionAuto, VaultCompressionZstd, VaultCompressionNone}

// Vault auth methods.
const (
	AuthToken      = "token"
	AuthAppRole    = "approle"
	AuthKubernetes = "kubernetes"
)

// VaultAuth says how lifeboat logs in to Vault. The credentials must not live in the
// Vault being backed up, or a lost cluster also loses the way to restore it.
type VaultAuth struct {
	Method string `json:"method,omitempty"` // token (default), approle or kubernetes
	// Token for method token. Default {env: VAULT_TOKEN}.
	Token      Secret          `json:"token,omitzero"`
	AppRole    *AppRoleAuth    `json:"approle,omitempty"`
	Kubernetes *KubernetesAuth `json:"kubernetes,omitempty"`
}

// AppRoleAuth logs in with a role id and secret id.
type AppRoleAuth struct {
	MountPath string `json:"mountPath,omitempty"` // default approle
	RoleID    Secret `json:"roleID,omitzero"`
	// SecretID may be left out for a role created with bind_secret_id=false.
	SecretID Secret `json:"secretID,omitzero"`
}

// KubernetesAuth logs in with the pod's service account token.
type KubernetesAuth struct {
	MountPath string `json:"mountPath,omitempty"` // default kubernetes
	Role      string `json:"role"`
	// TokenPath default /var/run/secrets/kubernetes.io/serviceaccount/token.
	TokenPath string `json:"tokenPath,omitempty"`
}

// Postgres is one PostgreSQL database, dumped with pg_dump --format=custom.
type Postgres struct {
	// DSN is a libpq connection string or URL, an alternative to the fields below.
	DSN      Secret `json:"dsn,omitzero"`
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"` // default 5432
	Database string `json:"database,omitempty"`
	User     string `json:"user,omitempty"`
	Password Secret `json:"password,omitzero"`
	// SSLMode is libpq's sslmode: disable, allow, prefer (default), require, verify-ca,
	// verify-full.
	SSLMode     string `json:"sslMode,omitempty"`
	SSLRootCert string `json:"sslRootCert,omitempty"`
	// BinDir holds pg_dump, pg_dumpall and pg_restore; empty searches PATH. Their major
	// version must be at least the server's.
	BinDir string `json:"binDir,omitempty"`
	// Globals also dumps roles and tablespaces (pg_dumpall --globals-only) into the same
	// backup. It needs a superuser (or a role allowed to read pg_authid).
	Globals bool `json:"globals,omitempty"`
	// SkipRowCounts turns off the exact per-table row counts recorded in the manifest
	// (taken in the dump's own snapshot, so drills can compare them after a restore).
	SkipRowCounts bool `json:"skipRowCounts,omitempty"`
	// CompressionLevel is the zstd effort, on klauspost/compress's scale: 1 fastest,
	// 2 default (about zstd -3), 3 better (about zstd -7), 4 best (about zstd -11).
	CompressionLevel int `json:"compressionLevel,omitempty"`
	// CompressionThreads is the number of zstd threads (default 1), used up to the cores
	// the process may use (GOMAXPROCS, which follows the container's CPU limit). One is
	// the low-memory stream encoder; with more, 2 MiB jobs are compressed in parallel,
	// which costs 20-50 MiB more memory (docs/benchmarks.md) and shortens a run only
	// where zstd is its bottleneck.
	CompressionThreads int `json:"compressionThreads,omitempty"`
}
