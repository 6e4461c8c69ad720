package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/lifeboat-backup/lifeboat/internal/store/internal/ctxio"
)

// Put writes r to a temporary file next to the object, fsyncs it, renames it over the
// object and fsyncs the directory, so the object is either complete or absent even after
// a crash. Any failure removes the temporary file.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (err error) {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s in %s: %w", key, s, err)
	}
	dir := filepath.Dir(p)
	f, err := s.createTemp(dir)
	if err != nil {
		return s.fsErr("put", key, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close() // may be closed already; the error is not news
			_ = os.Remove(f.Name())
		}
	}()

	src := ctxio.NewReader(ctx, r)
	if _, err := io.Copy(f, src); err != nil {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("put %s in %s: %w", key, s, err)
		case src.Err() != nil:
			return fmt.Errorf("put %s in %s: reading the stream: %w", key, s, err)
		}
		return s.fsErr("write", key, err)
	}
	if err := f.Sync(); err != nil {
		return s.fsErr("sync", key, err)
	}
	if err := f.Close(); err != nil {
		return s.fsErr("close", key, err)
	}
	// A cancellation after the last byte still abandons the object: the caller has given up
	// on it and will not write the manifest that would commit it.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s in %s: %w", key, s, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return s.fsErr("rename into place", key, err)
	}
	if err := syncDir(dir); err != nil {
		return s.fsErr("sync directory of", key, err)
	}
	return nil
}

// createTemp makes the key's directories and a temporary file in the last one. Delete
// removes emptied directories, so one may vanish between the two steps: then try again.
func (s *Store) createTemp(dir string) (*os.File, error) {
	for attempt := 1; ; attempt++ {
		err := s.mkdirs(dir)
		var f *os.File
		if err == nil {
			f, err = os.CreateTemp(dir, tempPrefix+"*")
		}
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 10 {
			return f, err
		}
	}
}

// mkdirs creates the directories between the root and dir, never the root itself: a root
// that vanished (an unmounted volume) must fail the write, not be recreated empty.
func (s *Store) mkdirs(dir string) error {
	rel, err := filepath.Rel(s.root, dir)
	if err != nil || rel == "." {
		return err
	}
	cur := s.root
	for seg := range strings.SplitSeq(rel, string(filepath.Separator)) {
		parent := cur
		cur = filepath.Join(cur, seg)
		err := os.Mkdir(cur, dirMode)
		switch {
		case err == nil:
			// The new directory entry must survive a crash like the file's own rename.
			if err := syncDir(parent); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
		default:
			return err
		}
	}
	return nil
}

// syncDir makes renames and new entries in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	closeErr := d.Close()
	// Some filesystems (network and FUSE mounts behind CSI drivers) cannot fsync a
	// directory; restic ignores the same errors. The rename is as durable as they allow.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil
	}
	if err != nil {
		return err
	}
	return closeErr
}
