// Package file is a destination in a local directory, typically a mounted Kubernetes PVC.
//
// Objects are plain files under the root, so a backup can be restored with standard tools
// when lifeboat is not at hand. Writes go to a temporary file in the target directory that
// is fsynced and renamed into place (as restic's local backend does), so a crash, a full
// disk or a cancelled run never leaves a partial file under a backup's name.
package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// tempPrefix starts the name of a file still being written. List skips such files and keys
// may not use the prefix, so an unfinished write is never mistaken for an object.
const tempPrefix = ".lifeboat-tmp-"

// Backups hold secrets: only lifeboat's user may read them (files get 0600 from
// os.CreateTemp). On a PVC, the pod's fsGroup decides who owns them.
const dirMode = 0o700

// Options tune New.
type Options struct {
	// Create makes the root directory when it does not exist. Only a backup sets it. Prune,
	// list and restore must find the directory already there: a missing root usually means
	// an unmounted or recreated volume, and treating it as an empty destination would hide
	// every backup (and let retention reason about the wrong data).
	Create bool
}

// Store keeps objects as files below a root directory.
type Store struct {
	root string
}

var _ store.Store = (*Store)(nil)

// New opens the directory destination at root.
func New(root string, opts Options) (*Store, error) {
	if root == "" {
		return nil, errors.New("file destination has an empty path: set the directory to back up into")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("file destination %q: %w", root, err)
	}
	s := &Store{root: abs}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist) && opts.Create:
		if err := os.MkdirAll(abs, dirMode); err != nil {
			return nil, s.fsErr("create directory", "", err)
		}
		return s, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, s.rootMissing(err)
	case err != nil:
		return nil, s.fsErr("open", "", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("file destination %s is not a directory: point the destination at a directory (or mount the volume there)", s)
	}
	return s, nil
}

// String names the destination for operators: "file:///backups".
func (s *Store) String() string { return "file://" + filepath.ToSlash(s.root) }

// path maps a key to its file, refusing keys that could leave the root or alias a
// temporary file.
func (s *Store) path(key string) (string, error) {
	if err := keys.Check(key); err != nil {
		return "", fmt.Errorf("%s: %w", s, err)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, tempPrefix) {
			return "", fmt.Errorf("%s: invalid object key %q: names starting with %q are reserved for unfinished writes", s, key, tempPrefix)
		}
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

func (s *Store) rootMissing(err error) error {
	return fmt.Errorf("file destination %s does not exist: create the directory or mount the volume; "+
		"lifeboat creates it only when it writes a backup, never to list, prune or restore: %w", s, err)
}

// checkRoot turns a missing root into its own error, so a vanished volume is never reported
// as a missing object (or listed as an empty destination).
func (s *Store) checkRoot() error {
	if _, err := os.Stat(s.root); errors.Is(err, fs.ErrNotExist) {
		return s.rootMissing(err)
	}
	return nil
}
