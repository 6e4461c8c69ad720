package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// fsErr explains a filesystem error of op on key (which may be empty) to an operator.
func (s *Store) fsErr(op, key string, err error) error {
	what := op
	if key != "" {
		what += " " + key
	}
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%s in %s: the destination is full: free space or grow the volume (PVC), "+
			"or keep fewer backups in its retention, then run the backup again: %w", what, s, err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%s in %s: the destination is mounted read-only: mount it read-write: %w", what, s, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s in %s: permission denied: let lifeboat's user (uid %d) read and write the directory "+
			"(on Kubernetes, set the pod's securityContext.fsGroup): %w", what, s, os.Getuid(), err)
	}
	if rootErr := s.checkRoot(); rootErr != nil {
		return fmt.Errorf("%s: %w", what, rootErr)
	}
	return fmt.Errorf("%s in %s: %w", what, s, err)
}

// notFound explains a missing file: a missing object, unless the whole root is gone.
func (s *Store) notFound(op, key string, err error) error {
	if rootErr := s.checkRoot(); rootErr != nil {
		return fmt.Errorf("%s %s: %w", op, key, rootErr)
	}
	return fmt.Errorf("%s %s in %s: %w (%w)", op, key, s, store.ErrNotFound, err)
}

// isNotFound: ENOTDIR means a parent of the key is an object, so the key is not one.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
