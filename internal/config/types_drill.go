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
	// operator init): a restored snapshot of a Shamir-sealed cluster opens only with them.
	// Not used (and not needed) with Seal.
	UnsealKeys Secret `json:"unsealKeys,omitzero"`
	// Seal is the auto-unseal seal of the backed-up cluster (Transit, a cloud KMS, an HSM
	// or OpenBao's static key): the scratch server starts with it, so that it can decrypt
	// the snapshot's keyring. Required for auto-unsealed clusters, instead of UnsealKeys.
	Seal *VaultSeal `json:"seal,omitempty"`
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

// VaultSeal is a Vault/OpenBao `seal "<type>" { ... }` stanza. Parameters go into the
// scratch server's configuration as written; Secrets are resolved when the scratch server
// starts and written into its configuration file, which lives in a 0700 temporary
// directory that is deleted with the server. Credentials are never inline in lifeboat's
// own configuration.
type VaultSeal struct {
	// Type is the seal type: transit, awskms, gcpckms, azurekeyvault, static or pkcs11.
	Type string `json:"type"`
	// Parameters are the stanza's non-secret settings, e.g. for transit address,
	// key_name, mount_path, tls_ca_cert.
	Parameters map[string]string `json:"parameters,omitempty"`
	// Secrets are the stanza's credentials by parameter name, e.g. transit's token,
	// awskms's secret_key, azurekeyvault's client_secret, pkcs11's pin, static's
	// current_key.
	Secrets map[string]Secret `json:"secrets,omitempty"`
}

// SealTypes are the seal types a scratch server can be started with.
var SealTypes = []string{"transit", "awskms", "gcpckms", "azurekeyvault", "static", "pkcs11"}

// SealSecretParameters are the seal parameters that are credentials: they must come from
// secrets, never from parameters.
var SealSecretParameters = []string{"token", "secret_key", "access_key", "session_token", "client_secret", "pin", "current_key", "previous_key"}
