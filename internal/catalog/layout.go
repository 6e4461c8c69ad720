// Package catalog knows how backups are laid out in a destination: backup ids, object keys,
// the manifest that commits a backup, listing, retention policy and prune.
//
// Every destination holds, relative to its prefix (which the store applies):
//
//	<source>/<backup-id>/data.<ext>       the artifact (.snap | .dump, then .zst / .age)
//	<source>/<backup-id>/manifest.json    written LAST: its presence commits the backup
//
// A data object without a manifest is an unfinished upload. Listing ignores it; prune
// removes it once it is older than a grace period.
package catalog

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ManifestName is the file name of the manifest inside a backup directory.
const ManifestName = "manifest.json"

// DataPrefix starts the file name of every data object inside a backup directory.
const DataPrefix = "data."

// IDTimeLayout is the UTC timestamp inside a backup id. It sorts lexically in time order,
// so an object listing of one source is already oldest first.
const IDTimeLayout = "20060102T150405Z"

// The name rule keeps names safe as path segments, S3 keys, label values and metric labels.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,40}$`)

// ValidName reports (as an error an operator can act on) whether name may be used as a
// source or destination name.
func ValidName(name string) error {
	if nameRE.MatchString(name) {
		return nil
	}
	return fmt.Errorf("invalid name %q: use 1 to 41 characters, a lowercase letter first, "+
		"then lowercase letters, digits or '-'", name)
}

// NewBackupID returns a fresh id "<source>-<UTC yyyymmddThhmmssZ>-<rand4>". The random
// suffix keeps two backups started in the same second (two agents, a retried run) apart.
// The caller has validated source with ValidName.
func NewBackupID(source string, t time.Time) string {
	var b [2]byte
	// crypto/rand.Read never returns an error (it aborts the program instead).
	_, _ = rand.Read(b[:])
	return source + "-" + t.UTC().Format(IDTimeLayout) + "-" + hex.EncodeToString(b[:])
}

var suffixRE = regexp.MustCompile(`^-([0-9]{8}T[0-9]{6}Z)-([0-9a-z]{4})$`)

// ParseBackupID splits an id made by NewBackupID into its source name and UTC time.
// The source is everything before the timestamp, so source names may contain '-'.
func ParseBackupID(id string) (source string, t time.Time, err error) {
	const suffixLen = 1 + len(IDTimeLayout) + 1 + 4
	if len(id) <= suffixLen {
		return "", time.Time{}, fmt.Errorf("invalid backup id %q: want <source>-<yyyymmddThhmmssZ>-<4 chars>", id)
	}
	source, suffix := id[:len(id)-suffixLen], id[len(id)-suffixLen:]
	m := suffixRE.FindStringSubmatch(suffix)
	if m == nil {
		return "", time.Time{}, fmt.Errorf("invalid backup id %q: want <source>-<yyyymmddThhmmssZ>-<4 chars>", id)
	}
	if err := ValidName(source); err != nil {
		return "", time.Time{}, fmt.Errorf("invalid backup id %q: %w", id, err)
	}
	t, err = time.Parse(IDTimeLayout, m[1])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("invalid backup id %q: bad timestamp: %w", id, err)
	}
	return source, t, nil
}

// BackupDir is the key prefix (ending in '/') of every object of one backup.
func BackupDir(source, id string) string {
	return source + "/" + id + "/"
}

// DataKey is the key of a backup's data object; ext is e.g. "snap.zst.age" (a leading
// dot is accepted).
func DataKey(source, id, ext string) string {
	return BackupDir(source, id) + DataName(ext)
}

// DataName is the data object's name inside its backup directory, as the manifest's
// dataKey records it.
func DataName(ext string) string {
	return DataPrefix + strings.TrimPrefix(ext, ".")
}

// ManifestKey is the key of a backup's manifest.
func ManifestKey(source, id string) string {
	return BackupDir(source, id) + ManifestName
}
