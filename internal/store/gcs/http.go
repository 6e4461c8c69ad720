package gcs

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/lifeboat-backup/lifeboat/internal/store/internal/transport"
)

// request is one JSON API call. Its body, if any, is read through a ReaderAt so that every
// attempt sends it again from the start.
type request struct {
	method string
	url    string
	header http.Header
	body   io.ReaderAt // nil: no body
	size   int64       // the body's length
}

// Backoff between attempts: 200 ms, 400 ms, 800 ms, each shortened by up to half at
// random, so that a dead endpoint fails a call in about a second.
const (
	backoffInitial = 200 * time.Millisecond
	backoffMax     = 4 * time.Second
)

// do sends req with a token, retrying up to maxAttempts times what may be retried: every
// call lifeboat makes may be repeated safely (a Put replaces the whole object with the same
// bytes, a chunk is resent at the same offset, and a Delete that finds nothing is not an
// error). A response of 400 or more becomes a *googleapi.Error; anything below is returned
// to the caller, who closes its body.
func (s *Store) do(ctx context.Context, req request) (*http.Response, error) {
	pause := backoffInitial
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := s.send(ctx, req)
		if err == nil && resp.StatusCode < 400 {
			return resp, nil
		}
		retry := false
		if err != nil {
			retry = retryableErr(err)
		} else {
			retry = retryableStatus(resp.StatusCode)
			err = apiError(resp)
		}
		lastErr = err
		if !retry || attempt >= maxAttempts || ctx.Err() != nil {
			return nil, lastErr
		}
		t := time.NewTimer(pause/2 + rand.N(pause/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, lastErr
		case <-t.C:
		}
		pause = min(2*pause, backoffMax)
	}
}

// send makes one attempt of req.
func (s *Store) send(ctx context.Context, req request) (*http.Response, error) {
	var fence bodyFence
	defer fence.close()
	var body io.ReadCloser = http.NoBody
	if req.body != nil && req.size > 0 {
		body = fence.body(req.body, req.size)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return nil, err
	}
	hr.ContentLength = req.size
	if req.body != nil && req.size > 0 {
		// For the transport's own retries of a request on a connection that closed.
		hr.GetBody = func() (io.ReadCloser, error) { return fence.body(req.body, req.size), nil }
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	hr.Header.Set("User-Agent", "lifeboat")
	// The token goes only to the endpoint: an upload's session URI is a credential of its
	// own, and one on another host must not receive the token.
	if s.creds != nil && hr.URL.Host == s.apiHost {
		tok, err := s.creds.Token(ctx)
		if err != nil {
			return nil, err
		}
		typ := tok.Type
		if typ == "" {
			typ = "Bearer"
		}
		hr.Header.Set("Authorization", typ+" "+tok.Value)
		if project, err := s.creds.QuotaProjectID(ctx); err == nil && project != "" {
			hr.Header.Set("X-Goog-User-Project", project)
		}
	}
	resp, err := s.http.Do(hr)
	var urlErr *url.Error
	if errors.As(err, &urlErr) && strings.Contains(urlErr.URL, "upload_id=") {
		// An upload's session URI lets anyone write to the upload: keep it out of messages.
		urlErr.URL = redactQuery(urlErr.URL)
	}
	return resp, err
}

// retryableErr: the request did not get an answer because the endpoint could not be
// reached or the connection broke. A name that does not resolve, a TLS problem or a token
// that could not be had will not go away in a second.
func retryableErr(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	return transport.Classify(err) == transport.Unreachable
}

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// apiError reads an error response into a *googleapi.Error (code, message and the JSON
// error body's details) and closes it.
func apiError(resp *http.Response) error {
	defer resp.Body.Close()
	err := googleapi.CheckResponse(resp)
	if err == nil {
		err = &googleapi.Error{Code: resp.StatusCode, Message: resp.Status}
	}
	return err
}

// drain reads what is left of a small response so the connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// bodyFence guards the bodies of one attempt. The HTTP transport may still read a request
// body after Do returns (it closes it in its own time); a chunk taken from the pipeline's
// ring is given back right after, so once the attempt is over its bodies read nothing more.
type bodyFence struct {
	mu     sync.Mutex
	closed bool
}

var errAttemptOver = errors.New("gcs: request body read after its attempt ended")

func (f *bodyFence) body(r io.ReaderAt, size int64) io.ReadCloser {
	return &fencedBody{f: f, r: io.NewSectionReader(r, 0, size)}
}

func (f *bodyFence) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

type fencedBody struct {
	f *bodyFence
	r *io.SectionReader
}

func (b *fencedBody) Read(p []byte) (int, error) {
	b.f.mu.Lock()
	defer b.f.mu.Unlock()
	if b.f.closed {
		return 0, errAttemptOver
	}
	return b.r.Read(p)
}

func (b *fencedBody) Close() error { return nil }
