package config

import "github.com/lifeboat-backup/lifeboat/internal/catalog"

// Config is a whole lifeboat configuration file. Field comments give the defaults that
// SetDefaults applies; examples/lifeboat.yaml documents every field for operators.
type Config struct {
	Sources      []Source      `json:"sources"`
	Destinations []Destination `json:"destinations"`
	// Encryption applies to every source's data before it reaches any destination.
	Encryption Encryption `json:"encryption,omitzero"`
	// Signing signs manifests where backups run and checks them where they are read.
	Signing *Signing `json:"signing,omitempty"`
	Server  Server   `json:"server,omitzero"`
	// Pushgateway is a Prometheus Pushgateway URL one-shot runs push their metrics to.
	Pushgateway string `json:"pushgateway,omitempty"`
	// Notifications are the receivers told about failed runs, recoveries, failed drills
	// and damaged copies (types_notify.go).
	Notifications []Notifier `json:"notifications,omitempty"`
}

// Source kinds.
const (
	KindVault    = "vault"
	KindPostgres = "postgres"
)

// Source is one thing to back up.
type Source struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Schedule is a 5-field cron expression (or @daily, @every 1h) in UTC, used by serve.
	Schedule string `json:"schedule,omitempty"`
	// Jitter delays each scheduled run by a random amount up to this, so that many
	// agents on the same schedule do not hit one server at once.
	Jitter Duration `json:"jitter,omitzero"`
	// StallTimeout detaches a destination that accepts no data for this long during a
	// backup. The fan-out is one read shared by every destination, so a hung endpoint
	// holds the others (and the source connection, which a proxy may cut when idle)
	// until then. Default 5m.
	StallTimeout Duration `json:"stallTimeout,omitzero"`
	// SuspiciousShrink marks a backup suspicious when its volume (a Vault snapshot's raft
	// state bytes, a PostgreSQL dump's total rows) is below this fraction of the last good
	// backup's. Suspicious backups are stored, warned about and counted apart by
	// retention, so they never push good ones out. Unset means 0.5; 0 turns the check off.
	SuspiciousShrink *float64 `json:"suspiciousShrink,omitempty"`
	// Destinations names where this source's backups go; empty means every destination.
	Destinations []string  `json:"destinations,omitempty"`
	Vault        *Vault    `json:"vault,omitempty"`
	Postgres     *Postgres `json:"postgres,omitempty"`
	// Kubernetes is the configuration of a kubernetes source.
	Kubernetes *Kubernetes `json:"kubernetes,omitempty"`
	// Restore configures hooks around `lifeboat restore` of this source.
	Restore *RestoreHooks `json:"restore,omitempty"`
	// Drill configures restore rehearsals of this source.
	Drill *Drill `json:"drill,omitempty"`
}

// Shrink is the source's suspiciousShrink, or its default.
func (s *Source) Shrink() float64 {
	if s.SuspiciousShrink == nil {
		return catalog.DefaultSuspiciousShrink
	}
	return *s.SuspiciousShrink
}

// Destination kinds.
const (
	KindFile = "file"
	KindS3   = "s3"
	// azure destination kind
	KindAzure = "azure"
	KindGCS   = "gcs"
)

// Destination is one place backups are written to, with its own retention.
type Destination struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Prefix is put before every key in this destination; surrounding '/' are dropped.
	Prefix string    `json:"prefix,omitempty"`
	File   *FileDest `json:"file,omitempty"`
	S3     *S3Dest   `json:"s3,omitempty"`
	// Azure is the configuration of an azure destination.
	Azure *AzureDest `json:"azure,omitempty"`
	GCS   *GCSDest   `json:"gcs,omitempty"`
	// Retention is applied after each successful backup to this destination. The zero
	// policy keeps everything; any policy keeps the newest backup.
	Retention catalog.Policy `json:"retention,omitzero"`
}

// FileDest is a directory (a local disk or a mounted volume).
type FileDest struct {
	Path string `json:"path"`
}

// S3Dest is a bucket on AWS S3 or a compatible server (MinIO, Ceph, R2).
type S3Dest struct {
	// Endpoint is host[:port]; an https:// or http:// prefix is accepted and removed by
	// SetDefaults (http:// turns Insecure on). Default s3.amazonaws.com.
	Endpoint string `json:"endpoint,omitempty"`
	// Region is the bucket's region. Leave it out to let the client look it up from the
	// server (GetBucketLocation, cached per run); set it when the credentials may not
	// call GetBucketLocation or the server wants a fixed one (R2 takes "auto").
	Region string `json:"region,omitempty"`
	Bucket string `json:"bucket"`
	// PathStyle addresses the bucket as endpoint/bucket instead of bucket.endpoint, as
	// MinIO and most self-hosted servers need.
	PathStyle bool   `json:"pathStyle,omitempty"`
	Insecure  bool   `json:"insecure,omitempty"` // plain HTTP
	CACert    string `json:"caCert,omitempty"`   // extra CA bundle (PEM) to trust
	// AccessKeyID and SecretAccessKey are set both or neither; neither uses the standard
	// AWS credential chain (env, web identity / IRSA, instance profile).
	AccessKeyID     Secret `json:"accessKeyID,omitzero"`
	SecretAccessKey Secret `json:"secretAccessKey,omitzero"`
	// PartSizeMiB is the multipart upload part size. Backups upload parts straight from
	// the pipeline's shared ring, which holds a part and a quarter of the largest size;
	// with S3's 10,000 part limit it also caps the object: 8 MiB parts allow 78 GiB.
	PartSizeMiB int `json:"partSizeMiB,omitempty"` // default 8, 5..5120
	// ObjectLock writes every object under an S3 object lock retention, so that nobody
	// (lifeboat's own credentials included) can delete or overwrite it before it expires.
	// The bucket must have been created with object lock enabled.
	ObjectLock *ObjectLock `json:"objectLock,omitempty"`
}

// Object lock retention modes (S3's GOVERNANCE and COMPLIANCE).
const (
	LockGovernance = "governance"
	LockCompliance = "compliance"
)

// ObjectLock is the retention lifeboat sets on each object it writes to an S3 bucket.
type ObjectLock struct {
	// Mode is governance (users with s3:BypassGovernanceRetention may still delete) or
	// compliance (nobody can, not even the account root, until the retention ends).
	Mode string `json:"mode"`
	// RetainFor is how long each object stays locked after lifeboat writes it, e.g. "30d".
	// Retention cannot delete a backup before then: prune keeps it and says so.
	RetainFor Duration `json:"retainFor"`
}

// AzureDest is a container in Azure Blob Storage (or Azurite).
type AzureDest struct {
	// Account is the storage account name.
	Account   string `json:"account"`
	Container string `json:"container"`
	// Endpoint is the blob service URL. Default https://<account>.blob.core.windows.net;
	// set it for sovereign clouds, private endpoints or Azurite (http://host:10000/<account>).
	Endpoint string `json:"endpoint,omitempty"`
	// AccountKey and SASToken are static credentials; set at most one. With neither, the
	// default Azure credential chain is used (Workload Identity on AKS, managed identity,
	// AZURE_* environment).
	AccountKey Secret `json:"accountKey,omitzero"`
	SASToken   Secret `json:"sasToken,omitzero"`
	// BlockSizeMiB is the block size of uploads. A backup stages blocks straight from its
	// shared buffer (which makes room for two); an upload from anywhere else holds up to
	// two blocks in memory. A blob has at most 50,000 blocks: 8 MiB blocks allow 390 GiB.
	BlockSizeMiB int `json:"blockSizeMiB,omitempty"` // default 8, 1..4000
}

// GCSDest is a Google Cloud Storage bucket.
type GCSDest struct {
	Bucket string `json:"bucket"`
	// Endpoint overrides Google's JSON API endpoint: https://host[:port] for a private
	// endpoint (Private Service Connect, a restricted VIP), http://host:port for an emulator
	// (fake-gcs-server), to which no credentials are sent. A trailing /storage/v1 is
	// accepted. Empty means Google's public endpoint.
	Endpoint string `json:"endpoint,omitempty"`
	// CredentialsFile is the path of a service account key (JSON), e.g. a mounted
	// Kubernetes Secret. Empty uses Application Default Credentials: GKE Workload Identity,
	// the metadata server, or GOOGLE_APPLICATION_CREDENTIALS. The key itself never appears
	// in the config, logs or messages.
	CredentialsFile string `json:"credentialsFile,omitempty"`
	// ChunkSizeMiB is the resumable upload chunk size: the amount resent when a chunk
	// fails, and memory (a backup's shared buffer makes room for two chunks; an upload from
	// anywhere else holds one).
	ChunkSizeMiB int `json:"chunkSizeMiB,omitempty"` // default 8, 1..1024
}

// Encryption configures age encryption of backups.
type Encryption struct {
	Age *AgeEncryption `json:"age,omitempty"`
}

// AgeEncryption lists the public keys backups are encrypted to, and where restores find
// the private key.
type AgeEncryption struct {
	// Recipients are age public keys ("age1..." or post-quantum "age1pq1...").
	Recipients []string `json:"recipients,omitempty"`
	// RecipientsFile is a file of recipients, one per line, as `age -R` reads it.
	RecipientsFile string `json:"recipientsFile,omitempty"`
	// IdentityFile holds the private key; set it only where restores and drills run.
	IdentityFile string `json:"identityFile,omitempty"`
}

// Server configures `lifeboat serve`.
type Server struct {
	Listen string `json:"listen,omitempty"` // default 127.0.0.1:8080
	// Token guards the API; required when Listen is reachable from other hosts.
	Token Secret `json:"token,omitzero"`
	// OpenReadOnly serves status, listings and the web page without the token.
	OpenReadOnly bool       `json:"openReadOnly,omitempty"`
	TLS          *ServerTLS `json:"tls,omitempty"`
	// HistoryPath is where serve keeps run history; empty keeps it in memory only.
	HistoryPath  string `json:"historyPath,omitempty"`
	HistoryLimit int    `json:"historyLimit,omitempty"` // runs kept per source, default 200
}

// ServerTLS makes serve speak HTTPS.
type ServerTLS struct {
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
}
