package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// ErrNoBackups is wrapped by Latest when a source has no committed backup in a store.
var ErrNoBackups = errors.New("no backups")

// Backup is one committed backup: a directory whose manifest decodes and whose data
// object is present with the size the manifest records.
type Backup struct {
	ID       string
	Created  time.Time
	Manifest *Manifest
	// Drills are the backup's drill records, oldest first (see drills.go).
	Drills []DrillRecord
}

// Problem is a backup directory that has a manifest List could not use: corrupt JSON, a
// manifest copied into the wrong directory, a missing or truncated data object. Such a
// backup is neither listed nor ever deleted by prune; an operator should look at it.
type Problem struct {
	// ID is the name of the backup's directory: the id its copies share in every
	// destination, so a damaged copy can be tied to the backup whatever its manifest says.
	ID  string
	Key string // the manifest's key
	Err error
}

func (p Problem) Error() string { return p.Key + ": " + p.Err.Error() }
func (p Problem) Unwrap() error { return p.Err }

// List returns the committed backups of source in st, newest first, and separately every
// backup directory whose manifest is unusable. Unfinished uploads (data without a
// manifest) appear in neither. The error is non-nil only when the store could not be
// listed or read: a partial listing would make retention count wrongly, so there is none.
// It checks no signature: see ListTrusted.
func List(ctx context.Context, st store.Store, source string) ([]Backup, []Problem, error) {
	return ListTrusted(ctx, st, source, nil)
}

// ListTrusted is List that also puts every backup trust refuses among the problems (with
// an error wrapping ErrUntrusted): a forged or unsigned backup is then treated like a
// damaged one, never restored from, never counted or deleted by retention, and reported.
// A nil trust accepts every manifest.
func ListTrusted(ctx context.Context, st store.Store, source string, trust *Trust) ([]Backup, []Problem, error) {
	dirs, err := listDirs(ctx, st, source)
	if err != nil {
		return nil, nil, err
	}
	var backups []Backup
	var problems []Problem
	// Serial reads keep this simple; retention keeps tens of backups, not thousands.
	for _, d := range dirs {
		if d.manifest == nil {
			continue
		}
		m, err := readManifest(ctx, st, d.manifest.Key)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted by a concurrent prune since the listing
		}
		if err == nil {
			err = d.check(source, m)
		}
		if err == nil {
			err = trust.Check(m)
		}
		if errors.Is(err, ErrInvalidManifest) || errors.Is(err, ErrUntrusted) {
			problems = append(problems, Problem{ID: d.id, Key: d.manifest.Key, Err: err})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		backups = append(backups, Backup{ID: m.ID, Created: m.Created, Manifest: m, Drills: drillRecords(m, d)})
	}
	sortNewestFirst(backups)
	return backups, problems, nil
}

// Latest returns the newest committed backup of source in st, or an error wrapping
// ErrNoBackups that names the source and the store.
func Latest(ctx context.Context, st store.Store, source string) (Backup, error) {
	backups, problems, err := List(ctx, st, source)
	if err != nil {
		return Backup{}, err
	}
	if len(backups) > 0 {
		return backups[0], nil
	}
	if len(problems) > 0 {
		return Backup{}, fmt.Errorf("%w of source %q in %s: %d unusable manifest(s), first %w",
			ErrNoBackups, source, st, len(problems), problems[0])
	}
	return Backup{}, fmt.Errorf("%w of source %q in %s; check the source name and the destination's "+
		"prefix, or run a backup first", ErrNoBackups, source, st)
}

// Unfinished returns the keys of data objects of source that have no manifest beside them
// and were last modified before olderThan, oldest backup first. Choose olderThan well
// before the start of any upload that may still be running (see DefaultUnfinishedGrace).
func Unfinished(ctx context.Context, st store.Store, source string, olderThan time.Time) ([]string, error) {
	dirs, err := listDirs(ctx, st, source)
	if err != nil {
		return nil, err
	}
	return unfinishedKeys(dirs, source, olderThan), nil
}

func unfinishedKeys(dirs []*backupDir, source string, olderThan time.Time) []string {
	var keys []string
	for _, d := range dirs {
		if d.manifest != nil {
			continue
		}
		// Only directories named like our own backups: never touch what we did not write.
		if src, _, err := ParseBackupID(d.id); err != nil || src != source {
			continue
		}
		for _, o := range d.data {
			if o.Modified.Before(olderThan) {
				keys = append(keys, o.Key)
			}
		}
		// The drill records of a backup whose manifest a prune deleted but whose other
		// objects it could not: they describe nothing any more.
		for _, o := range d.drills {
			if o.Modified.Before(olderThan) {
				keys = append(keys, o.Key)
			}
		}
	}
	return keys
}

// DefaultUnfinishedGrace is how old an unfinished upload must be before prune removes
// it. It must exceed the longest backup run, or prune would delete an upload in flight.
const DefaultUnfinishedGrace = 24 * time.Hour

func readManifest(ctx context.Context, st store.Store, key string) (*Manifest, error) {
	rc, err := st.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s in %s: %w", key, st, err)
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(io.LimitReader(rc, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s in %s: %w", key, st, err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidManifest, MaxManifestSize)
	}
	return Decode(data)
}

func sortNewestFirst(backups []Backup) {
	sort.SliceStable(backups, func(i, j int) bool {
		if !backups[i].Created.Equal(backups[j].Created) {
			return backups[i].Created.After(backups[j].Created)
		}
		return strings.Compare(backups[i].ID, backups[j].ID) > 0
	})
}
