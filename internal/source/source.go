// Package source defines what lifeboat backs up. Implementations live in vault/ and
// postgres/; the pipeline only sees this interface.
package source

import (
	"context"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// Source produces backups of one configured system.
type Source interface {
	// Name is the configured source name, e.g. "vault" or "workflows".
	Name() string
	// Kind is "vault", "postgres" or "kubernetes".
	Kind() string
	// Open starts one backup and returns its stream. Setup problems (unreachable,
	// sealed, wrong credentials, missing permission) are returned here, before anything
	// is uploaded.
	Open(ctx context.Context) (*Artifact, error)
}

// Artifact is one backup being read from a source.
type Artifact struct {
	// Body is the raw artifact stream. The pipeline reads it once and closes it.
	Body io.ReadCloser
	// Ext is the data object's base extension: "snap" or "dump".
	Ext string
	// Compress asks the pipeline to zstd the stream: always for dumps and archives; for a
	// raft snapshot per vault.compression (by default only when its gzip stores the data
	// uncompressed, since compressing a deflated snapshot again gains nothing).
	Compress bool
	// Inspect, when set, reads a copy of the whole raw stream while it is uploaded and
	// returns an error if the data is not a valid artifact; the backup is then not
	// committed anywhere. It must read until EOF.
	Inspect func(r io.Reader) error
	// Finish, when set, runs after the stream ended and Inspect passed, before any
	// manifest is written: it reports late failures (a dump process's exit status) and
	// records source metadata in the manifest.
	Finish func(ctx context.Context, m *catalog.Manifest) error
	// Extras, when set, runs after Finish and returns small side objects (kilobytes, held
	// in memory) stored in the same backup with the same compression and encryption.
	Extras func(ctx context.Context) ([]Extra, error)
}

// Extra is one side object of a backup, e.g. name "globals.sql".
type Extra struct {
	Name string
	Data []byte
}
