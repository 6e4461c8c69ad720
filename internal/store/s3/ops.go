package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/ctxio"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// Put streams r as a multipart upload of unknown size. From the pipeline's ring
// (store.SectionReader) parts go straight from the ring, several at once; from any other
// reader parts are uploaded one at a time (NumThreads 1, no concurrent stream parts), so
// a Put holds one part in memory.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s in %s: %w", key, s, err)
	}
	opts := minio.PutObjectOptions{
		PartSize:    uint64(s.partSize),
		NumThreads:  1,
		ContentType: "application/octet-stream",
	}
	if s.lock != nil {
		// Set with the upload itself, so no object is ever stored unlocked. minio-go sends
		// a checksum with each part, which S3 requires for locked uploads.
		opts.Mode, opts.RetainUntilDate = s.lock.mode, s.lock.retainUntil()
	}
	if sr, ok := r.(store.SectionReader); ok && sr.Capacity() >= s.partSize {
		return s.putSections(ctx, key, name, sr, opts)
	}
	// A reader that knows its length (a manifest, an extra) is one PUT with no part
	// buffer; an unknown length makes minio-go allocate a whole part first.
	size := int64(-1)
	if l, ok := r.(interface{ Len() int }); ok {
		size = int64(l.Len())
	}
	src := ctxio.NewReader(ctx, r)
	_, err = s.client.PutObject(ctx, s.bucket, name, src, size, opts)
	var srcErr error
	if e := src.Err(); e != nil && errors.Is(err, e) {
		srcErr = err
	}
	return s.putErr(ctx, key, err, srcErr)
}

// Get opens the object. Core.GetObject sends the request at once, so a missing object is
// reported here and not on the first Read.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s from %s: %w", key, s, err)
	}
	body, _, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.explain(ctx, "get", key, err)
	}
	return body, nil
}

// Stat returns the object's size and modification time. On AWS a HEAD request has no error
// body, so a missing bucket looks like a missing object here; List and Check tell them apart.
func (s *Store) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	name, err := s.object(key)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.ObjectInfo{}, fmt.Errorf("stat %s in %s: %w", key, s, err)
	}
	info, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return store.ObjectInfo{}, s.explain(ctx, "stat", key, err)
	}
	return store.ObjectInfo{Key: key, Size: info.Size, Modified: info.LastModified}, nil
}

// List returns the objects under the destination's prefix whose keys start with prefix.
// Objects whose names are not valid keys (folder markers made by consoles, "a//b") are
// skipped: lifeboat never wrote them and could not address them.
func (s *Store) List(ctx context.Context, prefix string) ([]store.ObjectInfo, error) {
	if err := keys.CheckPrefix(prefix); err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, s, err)
	}
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine when we return early
	out := []store.ObjectInfo{}
	for obj := range s.client.ListObjects(listCtx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, s.explain(ctx, "list", prefix, obj.Err)
		}
		key, ok := keys.Relative(obj.Key, s.prefix)
		if !ok {
			continue
		}
		out = append(out, store.ObjectInfo{Key: key, Size: obj.Size, Modified: obj.LastModified})
	}
	// S3 lists in UTF-8 binary order already; not every S3-compatible server does.
	store.SortByKey(out)
	return out, nil
}

// Delete removes the object. S3 does not report missing keys; some compatible servers do.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s from %s: %w", key, s, err)
	}
	if s.lock != nil {
		return s.deleteVersions(ctx, key, name)
	}
	err = s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return s.explain(ctx, "delete", key, err)
	}
	return nil
}
