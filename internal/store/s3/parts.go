package s3

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// BufferNeed is one part and a quarter: parts after the first are streamed, each sent
// while its bytes are being read, so the next can start filling while one finishes.
func (s *Store) BufferNeed() int64 { return s.partSize + s.partSize/4 }

var _ store.BufferNeeder = (*Store)(nil)

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
	// Parts after the first are streamed: each is sent while its bytes are still being
	// read, so the ring needs room for one part and a little of the next, not two. Two
	// in flight: one finishing, the next already sending.
	slots := make(chan struct{}, 2)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		parts []minio.CompletePart
	)
	upload := func(n int, body partBody) {
		defer wg.Done()
		defer func() { <-slots }()
		defer body.Release()
		part, err := s.uploadStreamed(uctx, core, name, uploadID, n, body)
		if err != nil {
			stop(err)
			return
		}
		mu.Lock()
		parts = append(parts, part)
		mu.Unlock()
	}
	var body partBody = first
	var readErr error
	for n := 1; ; n++ {
		if n > maxParts {
			body.Release()
			readErr = fmt.Errorf("the stream needs more than %d parts of %d MiB: raise the destination's partSizeMiB", maxParts, s.partSize>>20)
			break
		}
		select {
		case slots <- struct{}{}:
		case <-uctx.Done():
			body.Release()
		}
		if uctx.Err() != nil {
			break
		}
		wg.Add(1)
		go upload(n, body)
		next, err := src.StreamSection(uctx, s.partSize)
		if err != nil {
			readErr = err
			break
		}
		body = next
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

// partBody is what a part is sent from: a section of the ring, complete or streamed.
type partBody interface {
	io.ReadSeeker
	Size() int64
	Release()
}

// uploadStreamed sends body as part n. A streamed section in which the stream ends is the
// last part: its request is cut off (its length was announced), and the bytes there are
// sent again as a part of their own length; they are still held in the ring.
func (s *Store) uploadStreamed(ctx context.Context, core minio.Core, name, uploadID string, n int, body partBody) (minio.CompletePart, error) {
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Cancelling the part's request when its stream comes up short keeps minio-go from
	// retrying a body that can never be complete.
	part, err := s.uploadPart(pctx, core, name, uploadID, n, &shortCutter{ReadSeeker: body, cancel: cancel}, body.Size())
	streamed, ok := body.(store.StreamedSection)
	if err == nil || !ok || !errors.Is(context.Cause(pctx), store.ErrShortSection) {
		return part, err
	}
	size, ended := streamed.Ended()
	if !ended || ctx.Err() != nil {
		return minio.CompletePart{}, fmt.Errorf("part %d: %w", n, store.ErrShortSection)
	}
	return s.uploadPart(ctx, core, name, uploadID, n, &limitedSeeker{rs: body, n: size}, size)
}

// uploadPart sends size bytes of body as part n, with a CRC32C that S3 checks on
// arrival (and requires in object-locked buckets). The checksum goes in an HTTP trailer,
// computed as the bytes go out, since a streamed part's bytes are not there when its
// request starts. body is seekable, so minio-go can retry the request from its start.
func (s *Store) uploadPart(ctx context.Context, core minio.Core, name, uploadID string, n int, body io.ReadSeeker, size int64) (minio.CompletePart, error) {
	trailer := http.Header{}
	sum := &crcReader{ReadSeeker: body, crc: crc32.New(crc32.MakeTable(crc32.Castagnoli)), trailer: trailer}
	sum.Seek(0, io.SeekStart)
	// No payload signature (minio-go would sha256 every byte once per destination over
	// plain HTTP; over HTTPS it never does): the CRC32C guards the transfer, and the
	// backup's own sha256 and signed manifest guard its content end to end.
	p, err := core.PutObjectPart(ctx, s.bucket, name, uploadID, n, sum, size,
		minio.PutObjectPartOptions{Trailer: trailer, DisableContentSha256: true})
	if err != nil {
		return minio.CompletePart{}, err
	}
	return minio.CompletePart{PartNumber: n, ETag: p.ETag, ChecksumCRC32C: trailer.Get(crcTrailer)}, nil
}

const crcTrailer = "X-Amz-Checksum-Crc32c"

// crcReader computes the CRC32C of what is read and sets it in the trailer at the end;
// seeking back to the start (a retry) starts it again.
type crcReader struct {
	io.ReadSeeker
	crc     hash.Hash32
	trailer http.Header
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.ReadSeeker.Read(p)
	c.crc.Write(p[:n])
	if errors.Is(err, io.EOF) {
		c.trailer.Set(crcTrailer, base64.StdEncoding.EncodeToString(c.crc.Sum(nil)))
	}
	return n, err
}

func (c *crcReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := c.ReadSeeker.Seek(offset, whence)
	if err == nil && pos == 0 {
		c.crc.Reset()
		c.trailer.Set(crcTrailer, base64.StdEncoding.EncodeToString(c.crc.Sum(nil)))
	}
	return pos, err
}

// shortCutter cancels its request when the stream ended inside the part.
type shortCutter struct {
	io.ReadSeeker
	cancel context.CancelCauseFunc
}

func (s *shortCutter) Read(p []byte) (int, error) {
	n, err := s.ReadSeeker.Read(p)
	if errors.Is(err, store.ErrShortSection) {
		s.cancel(err)
	}
	return n, err
}

// limitedSeeker is the first n bytes of rs.
type limitedSeeker struct {
	rs  io.ReadSeeker
	n   int64
	off int64
}

func (l *limitedSeeker) Read(p []byte) (int, error) {
	if l.off >= l.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), l.n-l.off)]
	n, err := l.rs.Read(p)
	l.off += int64(n)
	if err == nil && l.off >= l.n {
		err = io.EOF
	}
	return n, err
}

func (l *limitedSeeker) Seek(offset int64, whence int) (int64, error) {
	if whence != io.SeekStart || offset < 0 || offset > l.n {
		return 0, fmt.Errorf("s3: unsupported seek to %d (%d)", offset, whence)
	}
	if _, err := l.rs.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	l.off = offset
	return offset, nil
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
