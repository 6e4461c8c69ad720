package catalog

import (
	"strings"
	"time"
)

// FormatVersion is the manifest format this build writes and the only one it reads.
// Adding optional fields keeps the version; changing the meaning of one bumps it, so an
// old lifeboat refuses a manifest it would misread instead of restoring wrongly.
const FormatVersion = 1

// Compression values recorded in a manifest.
const (
	CompressionNone = ""
	CompressionZstd = "zstd"
)

// Manifest describes one committed backup. It is stored as manifest.json next to the
// data object, and written last: its presence is what commits the backup.
type Manifest struct {
	FormatVersion int       `json:"formatVersion"`
	ID            string    `json:"id"`
	Source        SourceRef `json:"source"`
	Created       time.Time `json:"created"`
	Finished      time.Time `json:"finished"`
	// DataKey is the data object's name inside the backup directory, e.g. "data.snap.age".
	DataKey string `json:"dataKey"`
	// Size and SHA256 (lowercase hex) are of the stored bytes, after compression and
	// encryption, so `sha256sum` on the downloaded object checks them.
	Size            int64         `json:"size"`
	SHA256          string        `json:"sha256"`
	Compression     string        `json:"compression,omitempty"`
	Encryption      *Encryption   `json:"encryption,omitempty"`
	LifeboatVersion string        `json:"lifeboatVersion,omitempty"`
	Vault           *VaultInfo    `json:"vault,omitempty"`
	Postgres        *PostgresInfo `json:"postgres,omitempty"`
	// Kubernetes is optional (added without a format bump): older manifests lack it.
	Kubernetes *KubernetesInfo `json:"kubernetes,omitempty"`
	// Drills are the drill records lifeboat before issue 16 wrote into the manifest.
	// Drills now write separate objects (see DrillKey) and never rewrite a committed
	// manifest; these are still read (Backup.Drills merges both).
	Drills []DrillRecord `json:"drills,omitempty"`
	// Extras are small side objects of the same backup (e.g. "globals.sql.zst.age", the
	// roles of a PostgreSQL cluster), stored next to the data object with the same
	// compression and encryption.
	Extras []ExtraObject `json:"extras,omitempty"`
	// Lineage identifies the system the backup came from: the Vault/OpenBao cluster id,
	// or a PostgreSQL server's system identifier and database ("7301…/argo"). Empty means
	// unknown (an older lifeboat, or a server that would not say). Retention counts its
	// rules within the newest backup's lineage only: a re-initialised cluster starts a new
	// lineage and cannot push the old cluster's backups out (see Plan).
	Lineage string `json:"lineage,omitempty"`
	// NewLineage marks the first backup whose lineage differs from the newest committed
	// backup's before it (PreviousLineage): the cluster was re-initialised or replaced.
	NewLineage      bool   `json:"newLineage,omitempty"`
	PreviousLineage string `json:"previousLineage,omitempty"`
	// Suspicious says why this backup looks wrong (e.g. its snapshot or row count is far
	// below the last good backup's). It is stored like any other, but retention counts
	// suspicious backups apart, so they never push good ones out.
	Suspicious string `json:"suspicious,omitempty"`
	// Signature, when set, signs every other member of the stored JSON (see signing.go).
	// Readers check it against their Trust before using the backup.
	Signature *Signature `json:"signature,omitempty"`
}

// ExtraObject is one side object of a backup.
type ExtraObject struct {
	Name   string `json:"name"` // file name inside the backup directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Extra returns the side object named base, with any suffix the stages added
// ("globals.sql" matches "globals.sql.zst.age"); ok is false when m is nil or has none.
func (m *Manifest) Extra(base string) (x ExtraObject, ok bool) {
	if m == nil {
		return ExtraObject{}, false
	}
	for _, x := range m.Extras {
		if x.Name == base || strings.HasPrefix(x.Name, base+".") {
			return x, true
		}
	}
	return ExtraObject{}, false
}

// ExtraKey is the full key (relative to the destination prefix) of an extra object.
func (m *Manifest) ExtraKey(name string) string {
	return BackupDir(m.Source.Name, m.ID) + name
}

// SourceRef names the configured source a backup was taken from.
type SourceRef struct {
	Kind string `json:"kind"` // "vault", "postgres" or "kubernetes"
	Name string `json:"name"`
}

// Encryption records how the data object was encrypted.
type Encryption struct {
	Kind string `json:"kind"` // "age"
	// Recipients are fingerprints (public keys) of the age recipients, so an operator can
	// tell which identity decrypts the backup without trying each one.
	Recipients []string `json:"recipients"`
}

// KubernetesInfo is what a kubernetes backup records about the cluster and the objects.
type KubernetesInfo struct {
	ServerVersion string `json:"serverVersion,omitempty"`
	// Objects counts the backed-up objects per kind and namespace, sorted by group, kind
	// and namespace ("" for cluster-scoped objects).
	Objects []KubernetesCount `json:"objects,omitempty"`
}

// KubernetesCount is the number of objects of one kind in one namespace.
type KubernetesCount struct {
	Group     string `json:"group,omitempty"` // "" for the core group
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Count     int    `json:"count"`
}

// Total is the number of objects in the backup.
func (k *KubernetesInfo) Total() int {
	n := 0
	for _, c := range k.Objects {
		n += c.Count
	}
	return n
}

// VaultInfo is what a Vault/OpenBao backup records about the cluster it came from.
type VaultInfo struct {
	Version       string `json:"version,omitempty"`
	LeaderAddress string `json:"leaderAddress,omitempty"`
	RaftIndex     uint64 `json:"raftIndex,omitempty"`
	RaftTerm      uint64 `json:"raftTerm,omitempty"`
	ClusterID     string `json:"clusterID,omitempty"`
	// RaftServers are the node ids of the raft configuration inside the snapshot.
	RaftServers []string `json:"raftServers,omitempty"`
	// SnapshotSize is the size of the raft state (state.bin) in the snapshot, the measure
	// compared to spot a drastically smaller cluster.
	SnapshotSize int64 `json:"snapshotSize,omitempty"`
}

// PostgresInfo is what a PostgreSQL backup records about the server and the dump.
type PostgresInfo struct {
	ServerVersion string `json:"serverVersion,omitempty"`
	PgDumpVersion string `json:"pgDumpVersion,omitempty"`
	Database      string `json:"database,omitempty"`
	// SystemIdentifier is the server's pg_control_system() system_identifier: it changes
	// when the cluster is re-created (initdb), not when it restarts or is upgraded in place.
	SystemIdentifier string `json:"systemIdentifier,omitempty"`
	// SchemaHistoryStep is the highest applied migration step of a workflow platform
	// (e.g. Argo's schema_history), nil when the table does not exist.
	SchemaHistoryStep *int `json:"schemaHistoryStep,omitempty"`
	// TableRowCounts lets a drill check that a restore brought back what was dumped.
	TableRowCounts map[string]int64 `json:"tableRowCounts,omitempty"`
	Globals        bool             `json:"globals,omitempty"`
}

// DrillRecord is the outcome of one restore rehearsal of this backup.
type DrillRecord struct {
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail,omitempty"`
	// Key is the drill record object's key, for a record listed from its name (its
	// Detail is then in the object: ReadDrill); empty for one inside an old manifest.
	Key string `json:"-"`
}

// DataObjectKey is the full key (relative to the destination prefix) of the data object.
func (m *Manifest) DataObjectKey() string {
	return BackupDir(m.Source.Name, m.ID) + m.DataKey
}

// Key is the key (relative to the destination prefix) of this manifest.
func (m *Manifest) Key() string {
	return ManifestKey(m.Source.Name, m.ID)
}
