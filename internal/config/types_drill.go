package config

// Drill configures restore rehearsals of a source (`lifeboat drill <source>`, and on a
// schedule in `lifeboat serve`): the newest backup is restored into a scratch instance
// and checked, so a backup nobody can restore is found before it is needed.
type Drill struct {
	// Schedule is a 5-field cron expression (UTC) for serve; empty means on demand only.
	Schedule string      `json:"schedule,omitempty"`
	Vault    *VaultDrill `json:"vault,omitempty"`
	Postgres *PgDrill    `json:"postgres,omitempty"`
}

// VaultDrill restores into a throwaway raft server started from Binary on 127.0.0.1.
type VaultDrill struct {
	// Binary is the Vault or OpenBao server binary ("bao", "vault" or a path). Default "bao".
	Binary string `json:"binary,omitempty"`
	// UnsealKeys are the ORIGINAL cluster's unseal keys (one per line, or the JSON of
	// operator init): a restored snapshot opens only with them.
	UnsealKeys Secret `json:"unsealKeys"`
	// Token is valid in the backed-up cluster and may read what the checks list (the
	// snapshot brings its tokens along). Default: the source's own auth token; required
	// when the source logs in with AppRole or Kubernetes, which only reach the live cluster.
	Token Secret `json:"token,omitzero"`
	// Mounts must exist after the restore, e.g. "secret/", "approle/" (auth mounts too).
	Mounts []string `json:"mounts,omitempty"`
	// Secrets are API paths that must be readable, e.g. "secret/data/app/db".
	Secrets []string `json:"secrets,omitempty"`
}

// PgDrill restores into a scratch database on a PostgreSQL server and compares per-table
// row counts with those the manifest recorded at backup time.
type PgDrill struct {
	// Target is the server to restore into; default the source's own server. The role
	// needs CREATEDB. The scratch database is dropped afterwards.
	Target *Postgres `json:"target,omitempty"`
	// Database is the scratch database name. Default "lifeboat_drill_<source>".
	Database string `json:"database,omitempty"`
}
