package s3

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// PartSize is the size of the parts Put uploads: the pipeline makes its shared buffer
// room for two of them.
func (s *Store) PartSize() int64 { return s.partSize }

var _ store.PartSizer = (*Store)(nil)

// putSections uploads a stream whose parts can be held in the producer's buffer (the
// pipeline's ring): each part is sent straight from there, several at once, so a Put needs
// no part buffer of its own. A stream shorter than one part is a single PUT.
func (s *Store) putSections(ctx context.Context, key, name string, src store.SectionReader, opts minio.PutObjectOptions) error {
	first, err := src.NextSection(ctx, s.partSize)
	if errors.Is(err, io.EOF) {
		_, err = s.client.PutObject(ctx, s.bucket, name, http.NoBody, 0, opts)
		return s.putErr(ctx, key, err, nil)
	}
	if err != nil {
		return s.putErr(ctx, key, err, err)
	}
	if first.Size() < s.partSize {
		// The whole stream: one request, no multipart upload to complete or abort.
		defer first.Release()
		_, err = s.client.PutObject(ctx, s.bucket, name, first, first.Size(), opts)
		return s.putErr(ctx, key, err, nil)
	}
	return s.putMultipart(ctx, key, name, src, first, opts)
}

func (s *Store) putMultipart(ctx context.Context, key, name string, src store.SectionReader, first store.Section, opts minio.PutObjectOptions) (err error) {
	core := minio.Core{Client: s.client}
	// Every part carries its CRC32C, which S3 checks on arrival and requires for uploads
	// into an object-locked bucket.
	opts.UserMetadata = map[string]string{"X-Amz-Checksum-Algorithm": "CRC32C"}
	uploadID, err := core.NewMultipartUpload(ctx, s.bucket, name, opts)
	if err != nil {
		first.Release()
		return s.putErr(ctx, key, err, nil)
	}
	defer func() {
		if err != nil {
			// Even after cancellation: parts left behind cost storage until a lifecycle
			// rule removes them.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = core.AbortMultipartUpload(actx, s.bucket, name, uploadID)
		}
	}()

	uctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// The producer's buffer holds the parts in flight and the one filling.
	slots := make(chan struct{}, max(1, src.Capacity()/s.partSize-1))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		parts []minio.CompletePart
	)
	upload := func(n int, sec store.Section) {
		defer wg.Done()
		defer func() { <-slots }()
		defer sec.Release()
		part, err := s.uploadPart(uctx, core, name, uploadID, n, sec)
		if err != nil {
			stop(err)
			return
		}
		mu.Lock()
		parts = append(parts, part)
		mu.Unlock()
	}
	sec, readErr := first, error(nil)
	for n := 1; ; n++ {
		if n > maxParts {
			sec.Release()
			readErr = fmt.Errorf("the stream needs more than %d parts of %d MiB: raise the destination's partSizeMiB", maxParts, s.partSize>>20)
			break
		}
		select {
		case slots <- struct{}{}:
		case <-uctx.Done():
			sec.Release()
		}
		if uctx.Err() != nil {
			break
		}
		wg.Add(1)
		go upload(n, sec)
		if sec, readErr = src.NextSection(uctx, s.partSize); readErr != nil {
			break
		}
	}
	wg.Wait()
	if cause := context.Cause(uctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return s.putErr(ctx, key, cause, nil)
	}
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		return s.putErr(ctx, key, readErr, readErr)
	}
	if err := ctx.Err(); err != nil {
		return s.putErr(ctx, key, err, nil)
	}
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	_, err = core.CompleteMultipartUpload(ctx, s.bucket, name, uploadID, parts, minio.PutObjectOptions{})
	return s.putErr(ctx, key, err, nil)
}

// uploadPart sends one section as part n. The section is seekable, so minio-go can retry
// the request from its start.
func (s *Store) uploadPart(ctx context.Context, core minio.Core, name, uploadID string, n int, sec store.Section) (minio.CompletePart, error) {
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	if _, err := io.Copy(crc, io.NewSectionReader(sec, 0, sec.Size())); err != nil {
		return minio.CompletePart{}, err
	}
	sum := base64.StdEncoding.EncodeToString(crc.Sum(nil))
	hdr := http.Header{}
	hdr.Set("X-Amz-Checksum-Crc32c", sum)
	hdr.Set("X-Amz-Sdk-Checksum-Algorithm", "CRC32C")
	if _, err := sec.Seek(0, io.SeekStart); err != nil {
		return minio.CompletePart{}, err
	}
	p, err := core.PutObjectPart(ctx, s.bucket, name, uploadID, n, sec, sec.Size(), minio.PutObjectPartOptions{CustomHeader: hdr})
	if err != nil {
		return minio.CompletePart{}, err
	}
	return minio.CompletePart{PartNumber: n, ETag: p.ETag, ChecksumCRC32C: sum}, nil
}

// putErr words a Put's failure: a failure to read the stream (srcErr, when the run was not
// cancelled) is the producer's, anything else is explained as the store's.
func (s *Store) putErr(ctx context.Context, key string, err, srcErr error) error {
	if err == nil {
		return nil
	}
	if srcErr != nil && ctx.Err() == nil {
		return fmt.Errorf("put %s in %s: reading the stream: %w", key, s, srcErr)
	}
	return s.explain(ctx, "put", key, err)
}
