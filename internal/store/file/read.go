package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/ctxio"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// Get opens the object. Reads stop with the context's error once ctx is done.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s from %s: %w", key, s, err)
	}
	f, err := os.Open(p)
	if isNotFound(err) {
		return nil, s.notFound("get", key, err)
	}
	if err != nil {
		return nil, s.fsErr("get", key, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, s.fsErr("get", key, err)
		}
		return nil, s.notFound("get", key, errors.New("not a regular file"))
	}
	return readCloser{Reader: ctxio.NewReader(ctx, f), Closer: f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Stat returns the object's size and modification time.
func (s *Store) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.ObjectInfo{}, fmt.Errorf("stat %s in %s: %w", key, s, err)
	}
	fi, err := os.Stat(p)
	if isNotFound(err) {
		return store.ObjectInfo{}, s.notFound("stat", key, err)
	}
	if err != nil {
		return store.ObjectInfo{}, s.fsErr("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return store.ObjectInfo{}, s.notFound("stat", key, errors.New("not a regular file"))
	}
	return store.ObjectInfo{Key: key, Size: fi.Size(), Modified: fi.ModTime()}, nil
}

// List walks only the directory that holds prefix's complete segments. A missing root is
// an error, never an empty listing (see Options.Create).
func (s *Store) List(ctx context.Context, prefix string) ([]store.ObjectInfo, error) {
	if err := keys.CheckPrefix(prefix); err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, s, err)
	}
	if err := s.checkRoot(); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	dir := keys.Dir(prefix)
	out := []store.ObjectInfo{}
	if err := s.walk(ctx, dir, prefix, &out); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("list %q in %s: %w", prefix, s, ctxErr)
		}
		return nil, s.fsErr("list", prefix, err)
	}
	store.SortByKey(out)
	return out, nil
}

// walk appends the objects below the directory of key rel that match prefix.
func (s *Store) walk(ctx context.Context, rel, prefix string, out *[]store.ObjectInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(s.root, filepath.FromSlash(rel)))
	if isNotFound(err) {
		// No such directory (or one a concurrent Delete just pruned): nothing below it.
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		// ext4 volumes (most PVCs) carry a root-only lost+found that is never a backup.
		if strings.HasPrefix(name, tempPrefix) || (rel == "" && name == "lost+found") {
			continue
		}
		key := path.Join(rel, name)
		if keys.Check(key) != nil {
			continue // not written by lifeboat: no key can name it
		}
		if e.IsDir() {
			if strings.HasPrefix(key+"/", prefix) || strings.HasPrefix(prefix, key+"/") {
				if err := s.walk(ctx, key, prefix, out); err != nil {
					return err
				}
			}
			continue
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			continue
		}
		fi, err := e.Info()
		if isNotFound(err) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return err
		}
		*out = append(*out, store.ObjectInfo{Key: key, Size: fi.Size(), Modified: fi.ModTime()})
	}
	return nil
}
