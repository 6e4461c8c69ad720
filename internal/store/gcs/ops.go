package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/ctxio"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// Put streams r as a resumable upload. The writer holds one chunk in memory and sends it
// when it is full; the object is created only when Close finalizes the upload, so on any
// failure the upload's context is cancelled first and the upload is never finalized.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s in %s: %w", key, s, err)
	}
	uploadCtx, abandon := context.WithCancel(ctx)
	defer abandon()
	// The upload's requests are retried like the others, a few times in a row: the client
	// would otherwise retry starting the upload until the context ends, and each chunk for
	// 32 s. A chunk that gets through starts the count again, so a long upload survives
	// any number of separate hiccups.
	var failures atomic.Int32
	obj = obj.Retryer(storage.WithErrorFunc(func(err error) bool {
		return storage.ShouldRetry(err) && failures.Add(1) < maxAttempts
	}))
	w := obj.NewWriter(uploadCtx)
	w.ProgressFunc = func(int64) { failures.Store(0) }
	w.ChunkSize = s.chunkSize
	w.ContentType = "application/octet-stream"
	src := ctxio.NewReader(ctx, r)
	if _, err := io.Copy(w, src); err != nil {
		// Cancel before Close: Close alone would finalize what was sent so far as the object.
		abandon()
		_ = w.Close()
		if srcErr := src.Err(); srcErr != nil && errors.Is(err, srcErr) && ctx.Err() == nil {
			return fmt.Errorf("put %s in %s: reading the stream: %w", key, s, err)
		}
		return s.explain(ctx, "put", key, err)
	}
	if err := w.Close(); err != nil {
		return s.explain(ctx, "put", key, err)
	}
	return nil
}

// Get opens the object. The request is sent here, so a missing object is reported here
// and not on the first Read.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s from %s: %w", key, s, err)
	}
	rc, err := obj.NewReader(ctx)
	if err != nil {
		return nil, s.objectErr(ctx, "get", key, err)
	}
	return rc, nil
}

// Stat returns the object's size and modification time (its generation's creation).
func (s *Store) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	obj, err := s.object(key)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.ObjectInfo{}, fmt.Errorf("stat %s in %s: %w", key, s, err)
	}
	attrs, err := obj.Attrs(ctx)
	if err != nil {
		return store.ObjectInfo{}, s.objectErr(ctx, "stat", key, err)
	}
	return store.ObjectInfo{Key: key, Size: attrs.Size, Modified: attrs.Updated}, nil
}

// List returns the objects under the destination's prefix whose keys start with prefix.
// Objects whose names are not valid keys (folder placeholders made by the console, "a//b")
// are skipped: lifeboat never wrote them and could not address them.
func (s *Store) List(ctx context.Context, prefix string) ([]store.ObjectInfo, error) {
	if err := keys.CheckPrefix(prefix); err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, s, err)
	}
	q := &storage.Query{Prefix: s.prefix + prefix, Projection: storage.ProjectionNoACL}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, s, err)
	}
	out := []store.ObjectInfo{}
	it := s.bucket.Objects(ctx, q)
	for {
		attrs, err := it.Next()
		if isDone(err) {
			break
		}
		if err != nil {
			return nil, s.explain(ctx, "list", prefix, err)
		}
		key, ok := keys.Relative(attrs.Name, s.prefix)
		if !ok {
			continue
		}
		out = append(out, store.ObjectInfo{Key: key, Size: attrs.Size, Modified: attrs.Updated})
	}
	// GCS lists in UTF-8 byte order already; an emulator or a private endpoint might not.
	store.SortByKey(out)
	return out, nil
}

// Delete removes the object; one that is not there is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s from %s: %w", key, s, err)
	}
	if err := obj.Delete(ctx); err != nil {
		err = s.objectErr(ctx, "delete", key, err)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

func isDone(err error) bool { return errors.Is(err, iterator.Done) }
