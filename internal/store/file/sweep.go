package file

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

var _ store.TempSweeper = (*Store)(nil)

// SweepTemp removes the temporary files of writes that died with their process (Put
// removes its own on every error it sees, but not on a crash, OOM kill or node loss), and
// then the directories that leaves empty, as Delete does. Only files older than olderThan
// go: a younger one may belong to a Put still running. With dryRun it removes nothing and
// reports what it would remove. Names are reported like keys, relative to the root.
func (s *Store) SweepTemp(ctx context.Context, prefix string, olderThan time.Time, dryRun bool) ([]string, error) {
	if err := keys.CheckPrefix(prefix); err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	if err := s.checkRoot(); err != nil {
		return nil, fmt.Errorf("sweep temporary files: %w", err)
	}
	start := filepath.Join(s.root, filepath.FromSlash(keys.Dir(prefix)))
	var found []string
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if isNotFound(err) {
				return nil // removed since it was listed (a concurrent Delete), or no such prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() && p == filepath.Join(s.root, "lost+found") {
			return filepath.SkipDir // root-only on ext4, never ours (see walk)
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		// A temporary file sits in its key's directory, so it belongs to prefix when that
		// directory does.
		if !strings.HasPrefix(path.Dir(name)+"/", prefix) && !strings.HasPrefix(name, prefix) {
			return nil
		}
		fi, err := d.Info()
		if isNotFound(err) {
			return nil // renamed into place or removed by its Put since ReadDir
		}
		if err != nil {
			return err
		}
		if !fi.ModTime().Before(olderThan) {
			return nil
		}
		if !dryRun {
			if err := os.Remove(p); err != nil && !isNotFound(err) {
				return err
			}
			s.removeEmptyDirs(filepath.Dir(p))
		}
		found = append(found, name)
		return nil
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return found, fmt.Errorf("sweep temporary files below %q in %s: %w", prefix, s, ctxErr)
		}
		return found, s.fsErr("sweep temporary files below", prefix, err)
	}
	return found, nil
}
