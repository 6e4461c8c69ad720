package gcs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/ctxio"
)

// BufferNeed is room for two chunks: one uploading while the next fills, so a Put given
// the ring needs no chunk buffer of its own and the read does not wait for it.
func (s *Store) BufferNeed() int64 { return 2 * int64(s.chunkSize) }

var _ store.BufferNeeder = (*Store)(nil)

// Put streams r as a resumable upload: a session is started, then the stream is sent in
// chunks of the store's size, each one acknowledged (308) before the next is taken, and the
// last one, shorter or empty, carries the total size, which is what makes GCS create the
// object. On any failure the final chunk is never sent and the session is cancelled, so no
// object appears. A stream that fits in one chunk is a single upload request.
//
// When r is a store.SectionReader (the pipeline's ring) the chunks are uploaded straight
// from its buffer; otherwise one chunk buffer is filled from r.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s in %s: %w", key, s, err)
	}
	var src chunkSource
	if sr, ok := r.(store.SectionReader); ok && sr.Capacity() >= int64(s.chunkSize) {
		src = sectionSource{r: sr, size: int64(s.chunkSize)}
	} else {
		src = &bufferSource{r: ctxio.NewReader(ctx, r), size: s.chunkSize}
	}
	return s.put(ctx, key, name, src)
}

// chunk is a piece of the stream held for upload, re-readable for retries until release.
type chunk struct {
	data    io.ReaderAt
	size    int64
	release func()
}

var noChunk = chunk{data: bytes.NewReader(nil), release: func() {}}

// chunkSource hands out the stream in chunks of the store's size: a shorter one only at
// the end, and io.EOF once nothing is left.
type chunkSource interface {
	next(ctx context.Context) (chunk, error)
}

// sectionSource takes the chunks in place from the pipeline's ring.
type sectionSource struct {
	r    store.SectionReader
	size int64
}

func (s sectionSource) next(ctx context.Context) (chunk, error) {
	sec, err := s.r.NextSection(ctx, s.size)
	if err != nil {
		return chunk{}, err
	}
	return chunk{data: sec, size: sec.Size(), release: sec.Release}, nil
}

// bufferSource copies the stream into one chunk buffer, reused for every chunk. The buffer
// grows with what is read, so a small object (a manifest) does not cost a whole chunk.
type bufferSource struct {
	r    *ctxio.Reader
	size int
	buf  []byte
	eof  bool
}

func (b *bufferSource) next(context.Context) (chunk, error) {
	if b.eof {
		return chunk{}, io.EOF
	}
	if b.buf == nil {
		b.buf = make([]byte, 0, min(64<<10, b.size))
	}
	b.buf = b.buf[:0]
	for len(b.buf) < b.size {
		if len(b.buf) == cap(b.buf) {
			b.buf = append(make([]byte, 0, min(2*cap(b.buf), b.size)), b.buf...)
		}
		n, err := b.r.Read(b.buf[len(b.buf):cap(b.buf)])
		b.buf = b.buf[:len(b.buf)+n]
		if errors.Is(err, io.EOF) {
			b.eof = true
			break
		}
		if err != nil {
			return chunk{}, err
		}
	}
	if len(b.buf) == 0 {
		return chunk{}, io.EOF
	}
	return chunk{data: bytes.NewReader(b.buf), size: int64(len(b.buf)), release: func() {}}, nil
}

func (s *Store) put(ctx context.Context, key, name string, src chunkSource) (err error) {
	c, err := src.next(ctx)
	if errors.Is(err, io.EOF) {
		c, err = noChunk, nil
	}
	if err != nil {
		return s.readErr(ctx, key, err)
	}
	if c.size < int64(s.chunkSize) {
		// The whole stream: one request, no session to finalize or cancel.
		defer c.release()
		if err := s.putSmall(ctx, name, c); err != nil {
			return s.explain(ctx, "put", key, err)
		}
		return nil
	}

	session, err := s.startSession(ctx, name)
	if err != nil {
		c.release()
		return s.explain(ctx, "put", key, err)
	}
	defer func() {
		if err != nil {
			s.cancelSession(ctx, session)
		}
	}()
	var off int64
	for c.size == int64(s.chunkSize) {
		err := s.sendChunk(ctx, session, c, off, -1)
		c.release()
		if err != nil {
			return s.explain(ctx, "put", key, err)
		}
		off += c.size
		if c, err = src.next(ctx); errors.Is(err, io.EOF) {
			c = noChunk
		} else if err != nil {
			return s.readErr(ctx, key, err)
		}
	}
	defer c.release()
	// The final chunk creates the object: never for a cancelled run.
	if err := ctx.Err(); err != nil {
		return s.explain(ctx, "put", key, err)
	}
	if err := s.sendChunk(ctx, session, c, off, off+c.size); err != nil {
		return s.explain(ctx, "put", key, err)
	}
	return nil
}

// readErr words a failure to get the stream's next chunk: the producer's when the run was
// not cancelled, else the cancellation.
func (s *Store) readErr(ctx context.Context, key string, err error) error {
	if ctx.Err() == nil {
		return fmt.Errorf("put %s in %s: reading the stream: %w", key, s, err)
	}
	return s.explain(ctx, "put", key, err)
}

const octetStream = "application/octet-stream"

// putSmall uploads a whole object in one request (uploadType=media).
func (s *Store) putSmall(ctx context.Context, name string, c chunk) error {
	q := url.Values{"uploadType": {"media"}, "name": {name}}
	resp, err := s.do(ctx, request{
		method: http.MethodPost,
		url:    s.upload + "b/" + url.PathEscape(s.name) + "/o?" + q.Encode(),
		header: http.Header{"Content-Type": {octetStream}},
		body:   c.data,
		size:   c.size,
	})
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// startSession starts a resumable upload and returns its session URI.
func (s *Store) startSession(ctx context.Context, name string) (string, error) {
	meta, err := json.Marshal(map[string]string{"name": name, "contentType": octetStream})
	if err != nil {
		return "", err
	}
	q := url.Values{"uploadType": {"resumable"}, "name": {name}}
	resp, err := s.do(ctx, request{
		method: http.MethodPost,
		url:    s.upload + "b/" + url.PathEscape(s.name) + "/o?" + q.Encode(),
		header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}, "X-Upload-Content-Type": {octetStream}},
		body:   bytes.NewReader(meta),
		size:   int64(len(meta)),
	})
	if err != nil {
		return "", err
	}
	drain(resp)
	loc := resp.Header.Get("Location")
	u, err := url.Parse(loc)
	if loc == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("GCS endpoint %s started an upload without a valid session URI (%d, Location %q)", s.host, resp.StatusCode, redactQuery(loc))
	}
	return loc, nil
}

// redactQuery drops the query of a session URI for messages: its upload_id lets anyone
// write to the upload.
func redactQuery(u string) string {
	before, _, _ := strings.Cut(u, "?")
	return before
}

// cancelSession abandons a resumable upload so that GCS discards what it received. It is
// sent even after the run's cancellation, once; if it fails, the unfinished upload expires
// on its own (after a week) without ever being visible.
func (s *Store) cancelSession(ctx context.Context, session string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	resp, err := s.send(cctx, request{method: http.MethodDelete, url: session})
	if err == nil {
		drain(resp)
	}
}

// errSessionLost is a chunk's answer when GCS no longer knows the upload.
var errSessionLost = errors.New("the upload session is gone")

// sendChunk uploads c at offset off of the upload. total is the upload's size when c is
// the final chunk, -1 otherwise. The request is retried whole by do; when GCS acknowledges
// only part of the chunk (a 308 whose Range ends short), the rest is sent again.
func (s *Store) sendChunk(ctx context.Context, session string, c chunk, off, total int64) error {
	var sent int64 // bytes of c that GCS has
	stuck := 0
	for {
		rest := c.size - sent
		var contentRange string
		switch {
		case rest == 0 && total >= 0:
			contentRange = fmt.Sprintf("bytes */%d", total)
		case total >= 0:
			contentRange = fmt.Sprintf("bytes %d-%d/%d", off+sent, off+c.size-1, total)
		default:
			contentRange = fmt.Sprintf("bytes %d-%d/*", off+sent, off+c.size-1)
		}
		resp, err := s.do(ctx, request{
			method: http.MethodPut,
			url:    session,
			header: http.Header{"Content-Type": {octetStream}, "Content-Range": {contentRange}},
			body:   io.NewSectionReader(c.data, sent, rest),
			size:   rest,
		})
		if isNotFound(err) || isGone(err) {
			return fmt.Errorf("%w: GCS answered %v to a chunk; retry the backup", errSessionLost, err)
		}
		if err != nil {
			return err
		}
		drain(resp)
		switch {
		case total >= 0 && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated):
			return nil
		case resp.StatusCode != http.StatusPermanentRedirect:
			return fmt.Errorf("GCS endpoint %s answered %s to a chunk of an upload, not 308 (more data expected)", s.host, resp.Status)
		}
		persisted, ok := parseRange(resp.Header.Get("Range"))
		switch {
		case !ok || persisted < off+sent || persisted > off+c.size:
			return fmt.Errorf("GCS endpoint %s has %d bytes of the upload after a chunk of bytes %d-%d (Range %q): it cannot be resumed from this chunk",
				s.host, persisted, off+sent, off+c.size-1, resp.Header.Get("Range"))
		case persisted == off+c.size && total < 0:
			return nil
		case persisted == off+sent:
			// Nothing of this request was kept: try again, a few times.
			if stuck++; stuck >= maxAttempts {
				return fmt.Errorf("GCS endpoint %s kept none of a chunk of the upload in %d attempts", s.host, maxAttempts)
			}
		}
		sent = persisted - off
	}
}

// parseRange reads how many bytes of an upload GCS has from a 308's Range header
// ("bytes=0-N"); no header means none.
func parseRange(h string) (int64, bool) {
	if h == "" {
		return 0, true
	}
	_, end, ok := strings.Cut(strings.TrimPrefix(h, "bytes="), "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(end, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n + 1, true
}
