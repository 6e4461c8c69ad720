package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/ring"
	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// recorder is a proxy in front of fake-gcs-server that notes every request ("PUT bytes
// 0-262143/*") and lets a test break the answers it passes on.
type recorder struct {
	mu       sync.Mutex
	calls    []string
	failPuts int                                       // the next failPuts chunk PUTs get a 503
	mangle   func(r *http.Request, body []byte) []byte // rewrites response bodies when set
}

func (rec *recorder) log() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.calls)
}

func (rec *recorder) reset() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.calls = nil
}

// startRecorder serves the proxy and returns a store that talks to it.
func startRecorder(t *testing.T, g *testenv.FakeGCS, bucket string) (*Store, *recorder) {
	t.Helper()
	rec := &recorder{}
	target, _ := url.Parse(g.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var self string
	proxy.ModifyResponse = func(resp *http.Response) error {
		// Session URIs point at the emulator: route the chunks through the proxy too.
		if loc := resp.Header.Get("Location"); loc != "" {
			resp.Header.Set("Location", strings.Replace(loc, g.URL(), self, 1))
		}
		rec.mu.Lock()
		mangle := rec.mangle
		rec.mu.Unlock()
		if mangle != nil {
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			body = mangle(resp.Request, body)
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Del("Content-Length")
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := r.Method + " " + r.URL.Path
		if cr := r.Header.Get("Content-Range"); cr != "" {
			call = r.Method + " " + cr
		} else if q := r.URL.Query(); q.Get("uploadType") != "" {
			call += "?uploadType=" + q.Get("uploadType")
		}
		rec.mu.Lock()
		fail := r.Method == http.MethodPut && rec.failPuts > 0
		if fail {
			rec.failPuts--
			call += " (503)"
		}
		rec.calls = append(rec.calls, call)
		rec.mu.Unlock()
		if fail {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"code":503,"message":"backend error"}}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	self = srv.URL
	s, err := New(Options{Endpoint: srv.URL, Bucket: bucket, Prefix: "p", ChunkSize: ChunkAlign})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, rec
}

// sectionsOnly is a ring reader that fails if it is read as a plain io.Reader: a Put
// given it must take its chunks in place.
type sectionsOnly struct{ store.SectionReader }

func (sectionsOnly) Read([]byte) (int, error) {
	return 0, errors.New("test: Read called on a section reader: the chunk was copied")
}

// putSections stores data from a ring whose reader only hands out sections.
func putSections(ctx context.Context, s store.Store, key string, data []byte) error {
	rg := ring.New(4*ChunkAlign, 0, nil)
	rd := rg.NewReader(ctx, "test", nil)
	go func() {
		for off := 0; off < len(data); off += 100_000 {
			if _, err := rg.Write(data[off:min(len(data), off+100_000)]); err != nil {
				return
			}
		}
		rg.Close()
	}()
	err := s.Put(ctx, key, sectionsOnly{rd})
	if err != nil {
		rd.Detach(err)
		return err
	}
	return rd.Finish()
}

// The resumable upload protocol as GCS documents it: a session, then chunks of the chunk
// size with an open total, then the total; nothing else. A stream that fits in one chunk
// is one request.
func TestUploadProtocol(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("proto")
	s, rec := startRecorder(t, g, "proto")
	ctx := storetest.Context(t)
	if got := s.BufferNeed(); got != 2*ChunkAlign {
		t.Fatalf("BufferNeed = %d, want two chunks of %d", got, ChunkAlign)
	}
	const c = ChunkAlign
	session := "POST /upload/storage/v1/b/proto/o?uploadType=resumable"
	tests := []struct {
		name string
		size int
		ring bool
		want []string
	}{
		{"small", 1000, false, []string{"POST /upload/storage/v1/b/proto/o?uploadType=media"}},
		{"empty", 0, true, []string{"POST /upload/storage/v1/b/proto/o?uploadType=media"}},
		{"chunks and a rest", 2*c + 10, false, []string{session,
			fmt.Sprintf("PUT bytes 0-%d/*", c-1), fmt.Sprintf("PUT bytes %d-%d/*", c, 2*c-1), fmt.Sprintf("PUT bytes %d-%d/%d", 2*c, 2*c+9, 2*c+10)}},
		{"whole chunks", 2 * c, false, []string{session,
			fmt.Sprintf("PUT bytes 0-%d/*", c-1), fmt.Sprintf("PUT bytes %d-%d/*", c, 2*c-1), fmt.Sprintf("PUT bytes */%d", 2*c)}},
		{"from the ring", 3*c + 7, true, []string{session,
			fmt.Sprintf("PUT bytes 0-%d/*", c-1), fmt.Sprintf("PUT bytes %d-%d/*", c, 2*c-1), fmt.Sprintf("PUT bytes %d-%d/*", 2*c, 3*c-1),
			fmt.Sprintf("PUT bytes %d-%d/%d", 3*c, 3*c+6, 3*c+7)}},
		{"one chunk from the ring", c, true, []string{session, fmt.Sprintf("PUT bytes 0-%d/*", c-1), fmt.Sprintf("PUT bytes */%d", c)}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.reset()
			data := bytes.Repeat([]byte{byte(i + 1), 2, 3}, tc.size/3+1)[:tc.size]
			key := fmt.Sprintf("proto/%d", i)
			var err error
			if tc.ring {
				err = putSections(ctx, s, key, data)
			} else {
				err = s.Put(ctx, key, bytes.NewReader(data))
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.log(); !slices.Equal(got, tc.want) {
				t.Fatalf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			wantContent(t, s, key, string(data))
		})
	}
}

// A chunk that fails is sent again, at the same offset, and the object is whole; a Put
// that fails cancels its session and never sends the chunk that carries the total.
func TestUploadRetryAndCancel(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("retry")
	s, rec := startRecorder(t, g, "retry")
	ctx := storetest.Context(t)
	const c = ChunkAlign

	data := bytes.Repeat([]byte("lifeboat"), (3*c+100)/8)
	rec.mu.Lock()
	rec.failPuts = 2
	rec.mu.Unlock()
	if err := s.Put(ctx, "retried", bytes.NewReader(data)); err != nil {
		t.Fatalf("Put with two failed chunk requests: %v", err)
	}
	want := []string{"POST /upload/storage/v1/b/retry/o?uploadType=resumable",
		fmt.Sprintf("PUT bytes 0-%d/* (503)", c-1), fmt.Sprintf("PUT bytes 0-%d/* (503)", c-1), fmt.Sprintf("PUT bytes 0-%d/*", c-1)}
	if got := rec.log(); !slices.Equal(got[:4], want) {
		t.Fatalf("requests:\n  %s\nwant them to start with:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	wantContent(t, s, "retried", string(data))

	boom := errors.New("source broke")
	for _, fromRing := range []bool{false, true} {
		rec.reset()
		var err error
		if fromRing {
			rg := ring.New(4*c, 0, nil)
			rd := rg.NewReader(ctx, "test", nil)
			go func() {
				_, _ = rg.Write(data[:2*c+5])
				// Abort only once two chunks went out: an aborted ring fails its reader
				// at once, whatever it still holds.
				for !slices.Contains(rec.log(), fmt.Sprintf("PUT bytes %d-%d/*", c, 2*c-1)) {
					time.Sleep(5 * time.Millisecond)
				}
				rg.Abort(boom)
			}()
			err = s.Put(ctx, "broken", sectionsOnly{rd})
			rd.Detach(err)
		} else {
			err = s.Put(ctx, "broken", io.MultiReader(bytes.NewReader(data[:2*c+5]), storetest.ErrReader{Err: boom}))
		}
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "reading the stream") {
			t.Fatalf("Put of a broken stream (ring %v) = %v, want a reading-the-stream error wrapping %v", fromRing, err, boom)
		}
		got := rec.log()
		if len(got) < 4 {
			t.Fatalf("a Put of more than two chunks (ring %v) sent only %q", fromRing, got)
		}
		finals := regexp.MustCompile(`^PUT bytes .*/\d+$`)
		for _, call := range got {
			if finals.MatchString(call) {
				t.Fatalf("a failed Put sent the final chunk %q: %q", call, got)
			}
		}
		if last := got[len(got)-1]; !strings.HasPrefix(last, "DELETE /upload/storage/v1/b/retry/o") {
			t.Fatalf("a failed Put did not cancel its session: requests %q", got)
		}
		if _, err := s.Stat(ctx, "broken"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Stat after a failed Put = %v, want ErrNotFound", err)
		}
	}
}

// A download that arrives corrupted fails its read instead of passing for the object.
func TestGetChecksCRC32C(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("crc")
	s, rec := startRecorder(t, g, "crc")
	ctx := storetest.Context(t)
	data := bytes.Repeat([]byte("backup"), 10_000)
	if err := s.Put(ctx, "obj", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	wantContent(t, s, "obj", string(data))
	rec.mu.Lock()
	rec.mangle = func(r *http.Request, body []byte) []byte {
		if r.URL.Query().Get("alt") == "media" && len(body) > 100 {
			body[100] ^= 1
		}
		return body
	}
	rec.mu.Unlock()
	rc, err := s.Get(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = io.ReadAll(rc)
	if err == nil || !strings.Contains(err.Error(), "does not match the object's CRC32C checksum") {
		t.Fatalf("reading a corrupted download = %v, want a checksum error", err)
	}
}
