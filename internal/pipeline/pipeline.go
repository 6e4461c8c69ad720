// Package pipeline runs one backup: it reads the source once and streams the bytes through
// optional zstd and age stages and a sha256 into every destination at once, then commits
// (manifest last) on each destination that took the whole stream, then prunes those.
//
//	source.Open ──> [inspect] ──> [zstd] ──> [age] ──> sha256+count ──┬─> dest A
//	                                                                  ├─> dest B
//	                                                                  └─> dest C
package pipeline

import (
	"log/slog"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// Destination is one configured place backups go to.
type Destination struct {
	Name      string
	Store     store.Store
	Retention catalog.Policy
	// OpenErr is why the destination could not be opened (a missing credentials file, an
	// unreadable CA bundle, an unmounted volume); Store is nil then. A run reports it as
	// this destination's failure and carries on with the others.
	OpenErr error
	// Where describes the destination for operators when Store is nil.
	Where string
}

// String says where the destination is, for results and logs.
func (d Destination) String() string {
	if d.Store != nil {
		return d.Store.String()
	}
	return d.Where
}

// Pipeline holds what is the same for every run.
type Pipeline struct {
	// Clock times runs, stamps backup ids and drives the stall timeouts. Nil means
	// clock.Real.
	Clock clock.Clock
	// Encryption, when non-nil, age-encrypts every backup.
	Encryption *Encryption
	// Signer, when non-nil, signs every manifest this pipeline commits.
	Signer *catalog.Signer
	// Trust decides which committed backups the lineage check and retention count; the
	// ones it refuses (unsigned, forged) are neither compared with nor deleted.
	Trust *catalog.Trust
	// CompressionLevel applies to artifacts the source asks to compress.
	CompressionLevel zstd.EncoderLevel
	// CompressionThreads is the number of zstd encoder threads, capped at GOMAXPROCS;
	// 0 means 1 (see ZstdThreads).
	CompressionThreads int
	// StallTimeout detaches a destination that accepts no data for this long, so a
	// hanging endpoint cannot hold the others. Zero means DefaultStallTimeout.
	StallTimeout time.Duration
	// UnfinishedGrace is how old an unfinished upload must be before prune removes it.
	UnfinishedGrace time.Duration
	// BackupID, when set, is the run's backup id (made by catalog.NewBackupID for the
	// same source) instead of a fresh one: the server answers a trigger with the id of
	// the run it has just queued.
	BackupID string
	// Shrink is the fraction of the last good backup's volume (raft state bytes, total
	// rows) below which a backup is marked suspicious; 0 disables the check. See
	// catalog.Assess.
	Shrink float64
	// AcceptShrink makes this run's backup the good reference whatever its size.
	AcceptShrink bool
	// BufferSize is the read size from the source. Zero means DefaultBufferSize.
	BufferSize int
	// RingSize is the buffer shared by every destination: the read waits only when the
	// slowest healthy destination is this far behind. It grows to what the destination
	// that needs the most asks for (store.BufferNeeder). Zero means DefaultRingSize.
	RingSize int
	// Version is lifeboat's version, recorded in each manifest.
	Version string
	Logger  *slog.Logger
}

// Defaults for the zero values of Pipeline.
const (
	DefaultStallTimeout    = 5 * time.Minute
	DefaultUnfinishedGrace = 24 * time.Hour
	DefaultBufferSize      = 256 << 10
	DefaultRingSize        = 10 << 20
)

func (p *Pipeline) clock() clock.Clock { return clock.Or(p.Clock) }

// now is in UTC whatever the clock's zone: backup ids and manifests are UTC.
func (p *Pipeline) now() time.Time { return p.clock().Now().UTC() }

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}
