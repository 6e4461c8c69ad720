package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// ErrUsage is wrapped by errors caused by what the caller asked for (an unknown source, a
// malformed id, a missing setting), as opposed to failures while doing it; the CLI exits
// 3 for them.
var ErrUsage = errors.New("invalid request")

// ErrNothingToDo is returned by Restore.Prepare when the restore is not needed (a Vault
// that is already initialised, for auto-restore): the caller stops there, successfully.
var ErrNothingToDo = errors.New("nothing to do")

// Kind is one kind of source through its whole life cycle: backup, the check of a stored
// artifact, restore and drill. Each kind is one package (vault/, postgres/) listed in
// internal/kinds; nothing else switches on a source's kind.
type Kind interface {
	// Name is the config's `kind`, e.g. "vault".
	Name() string
	// RestoreFlag is the flag `lifeboat restore` names this kind's backup with, without
	// dashes ("snapshot", "dump").
	RestoreFlag() string
	// NewSource builds the backup stream of a configured source.
	NewSource(src *config.Source) (Source, error)
	// Check reads a whole artifact (as restore would read it) and says what it holds; an
	// error when it is not a valid artifact of this kind.
	Check(ctx context.Context, src *config.Source, r io.Reader) (string, error)
	// Describe is a short account of what a backup holds, from its manifest.
	Describe(m *catalog.Manifest) string
	// Restore prepares a restore of src into its live system, or into the target o names.
	Restore(src *config.Source, o RestoreOptions, env Env) (Restore, error)
	// Drill prepares a rehearsal into a scratch instance; it never touches the live system.
	Drill(src *config.Source, env Env) (Restore, error)
}

// Restore is one prepared restore (or drill, or recovery) of one source. internal/restore
// calls Prepare, chooses a backup, calls Check with it when it has a manifest, verifies it
// (falling back to other copies and, for "latest", older backups), calls Check with the
// verified backup unless it was checked already, runs the restore hooks and then Run. A
// Restore that is a ReadOnce is verified while Run reads it instead, and a backup that
// fails there is followed by Check and Run with the next one, inside the hooks.
// Check runs once per backup. Everything that can refuse a restore belongs in Prepare
// and Check: they run before the hooks stop the writers.
type Restore interface {
	// Prepare checks what needs no backup (settings, the target's state) before one is
	// looked for.
	Prepare(ctx context.Context) error
	// Check refuses a restore of b (a schema downgrade, a missing extra). b.Manifest is
	// nil for a loose local file.
	Check(ctx context.Context, b *Backup) error
	// Run restores b, confirms the result and returns the checks it made; a failed check
	// fails the restore.
	Run(ctx context.Context, b *Backup) ([]Check, error)
}

// ReadOnce is implemented by a Restore whose Run can restore a backup while it is being
// verified, so that the backup is read once instead of twice. internal/restore then skips
// the full read before the restore for a backup with a manifest: it checks the small
// extras first, and hands Run a backup whose Open stream holds back its last bytes until
// the whole stored object matched the manifest's size and sha256 and decrypted and
// decompressed cleanly (internal/holdback), and fails instead when it does not.
//
// A Restore returns true only when all of these hold for its Run:
//   - it reads the artifact through one b.Open stream, and applies nothing before that
//     stream has ended: a stream that fails (an error instead of io.EOF) leaves the
//     target as it was (pg_restore --single-transaction rolls back; Vault never receives a
//     whole snapshot and applies nothing);
//   - it stops at once when that stream fails and returns an error;
//   - it may run again with another backup after such a failure (the fallback to the next
//     copy).
//
// Restores that apply as they read (a Kubernetes restore), or that change the target
// before the stream (PostgreSQL's --globals), keep verifying first.
type ReadOnce interface {
	ReadOnce() bool
}

// RestoreOptions are the operator's choices for one restore. Each kind reads the fields
// of its own section and ignores the others.
type RestoreOptions struct {
	// Force: Vault, restore a snapshot of another cluster or from before a
	// re-initialisation; PostgreSQL, allow a schema downgrade.
	Force bool

	// Vault.
	Address        string        // restore into this address instead of the configured one
	TokenFile      string        // the token to restore with, instead of the source's auth
	UnsealKeysFile string        // the snapshot's original unseal keys, to unseal afterwards
	Timeout        time.Duration // how long to wait for the cluster to be active again

	// PostgreSQL.
	TargetDSN          string // restore into this database (no password in it)
	TargetPasswordFile string // the password for TargetDSN
	Globals            bool   // apply globals.sql first
	NoOwner            bool   // restore every object as owned by the connecting user

	// Kubernetes.
	NamespaceMap map[string]string // restore objects of namespace old into new
	Only         []string          // restore only these objects, as kind/name
}

// Env is what a kind's restore needs from the process.
type Env struct {
	Logger *slog.Logger
	// Out receives the lines an operator follows a restore by.
	Out io.Writer
	// Clock is the clock; nil is the wall clock.
	Clock clock.Clock
}

// Printf writes one progress line to Out.
func (e Env) Printf(format string, args ...any) {
	if e.Out != nil {
		fmt.Fprintf(e.Out, format, args...)
	}
}

// Log is the logger, never nil.
func (e Env) Log() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// Time is the clock's current time in UTC.
func (e Env) Time() time.Time { return clock.Or(e.Clock).Now().UTC() }

// Backup is the backup a restore works from, chosen (and verified) by internal/restore.
type Backup struct {
	// Label names it for an operator: "backup <id> from <destination>" or "local file …".
	Label string
	// ID and Destination are empty for a loose local file.
	ID          string
	Destination string
	// Manifest is nil for a loose local file without one.
	Manifest *catalog.Manifest
	// Open returns the artifact's bytes, decrypted and decompressed, fresh each call; a
	// reader from the destinations fails at its end when the size or sha256 differs from
	// the manifest. For a ReadOnce restore the stream also holds back its last bytes until
	// that end was reached and checked (see ReadOnce).
	Open func(ctx context.Context) (io.ReadCloser, error)
	// OpenExtra opens a side object (e.g. "globals.sql"); nil, nil when there is none.
	OpenExtra func(ctx context.Context, base string) (io.ReadCloser, error)
}

// HasExtra reports whether the backup holds a side object named base (with any suffix).
func (b *Backup) HasExtra(base string) bool {
	_, ok := b.Manifest.Extra(base)
	return ok
}

// Check is one verified expectation of a restore or drill.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// NewCheck builds a check with a formatted detail.
func NewCheck(name string, ok bool, format string, args ...any) Check {
	return Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)}
}

// FailedChecks is nil when every check passed, else an error naming the failed ones.
func FailedChecks(checks []Check) error {
	var bad []string
	for _, c := range checks {
		if !c.OK {
			bad = append(bad, c.Name+": "+c.Detail)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d checks failed: %s", len(bad), len(checks), strings.Join(bad, "; "))
}
