package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Delete removes the object and then every directory it leaves empty, up to (not
// including) the root, so pruned backups leave no empty directories behind. A missing
// object is not an error; a missing root is.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s from %s: %w", key, s, err)
	}
	fi, err := os.Lstat(p)
	if isNotFound(err) {
		if rootErr := s.checkRoot(); rootErr != nil {
			return fmt.Errorf("delete %s: %w", key, rootErr)
		}
		return nil
	}
	if err != nil {
		return s.fsErr("delete", key, err)
	}
	if fi.IsDir() {
		return nil // a directory is a prefix, not an object
	}
	if err := os.Remove(p); err != nil && !isNotFound(err) {
		return s.fsErr("delete", key, err)
	}
	s.removeEmptyDirs(filepath.Dir(p))
	return nil
}

// removeEmptyDirs removes dir and its parents up to (not including) the root while they
// are empty. A concurrent Put that loses its directory this way makes it again.
func (s *Store) removeEmptyDirs(dir string) {
	for ; dir != s.root && len(dir) > len(s.root); dir = filepath.Dir(dir) {
		// Fails on the first directory that still holds something (or a concurrent Put's
		// temporary file, which SweepTemp removes once it is old): that is where pruning
		// stops.
		if os.Remove(dir) != nil {
			break
		}
	}
}
