package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Every operation against a destination that is misconfigured or gone fails with a message
// that names the destination, says what to do, and holds no secret.
func TestFaultMessages(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBucket("lifeboat")
	stopped := testenv.StartMinIO(t)
	stopped.Stop()
	closedPort := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	const wrongSecret = "wrong-secret-value-1234"

	tests := []struct {
		name string
		opts Options
		want []string // substrings of every operation's error; "{endpoint}" is replaced
	}{
		{"server stopped", Options{Endpoint: stopped.URL(), Bucket: "lifeboat"},
			[]string{"cannot reach S3 endpoint " + stopped.Endpoint, "that the server is up"}},
		{"nothing listening", Options{Endpoint: "http://" + closedPort, Bucket: "lifeboat"},
			[]string{"cannot reach S3 endpoint " + closedPort}},
		{"wrong secret", Options{Bucket: "lifeboat", SecretAccessKey: wrongSecret},
			[]string{"s3://lifeboat/p (" + m.Endpoint + ")", "check the access key and secret for this destination"}},
		{"unknown access key", Options{Bucket: "lifeboat", AccessKeyID: "nobody", SecretAccessKey: wrongSecret},
			[]string{"s3://lifeboat/p (" + m.Endpoint + ")", "check the access key and secret for this destination"}},
		{"bucket missing", Options{Bucket: "nope"},
			[]string{`bucket "nope" does not exist at endpoint ` + m.Endpoint + ": create it or fix destinations[].s3.bucket"}},
		{"https to a plain HTTP server", Options{Endpoint: "https://" + m.Endpoint, Bucket: "lifeboat"},
			[]string{"S3 endpoint " + m.Endpoint + " speaks plain HTTP, not TLS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Prefix = "p"
			s := newTestStore(t, m, tc.opts)
			for _, op := range operations() {
				err := op.run(testContext(t), s)
				if err == nil {
					t.Fatalf("%s succeeded, want an error", op.name)
				}
				msg := err.Error()
				t.Logf("%s: %s", op.name, msg)
				for _, want := range tc.want {
					if !strings.Contains(msg, want) {
						t.Errorf("%s error %q\n  does not contain %q", op.name, msg, want)
					}
				}
				for _, secret := range []string{m.SecretKey, wrongSecret} {
					if strings.Contains(msg, secret) {
						t.Errorf("%s error %q contains a secret key", op.name, msg)
					}
				}
				if errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s error %q wraps ErrNotFound: a broken destination is not a missing object", op.name, msg)
				}
			}
		})
	}
}

type operation struct {
	name string
	run  func(ctx context.Context, s *Store) error
}

func operations() []operation {
	return []operation{
		{"Check", func(ctx context.Context, s *Store) error { return s.Check(ctx) }},
		{"Put", func(ctx context.Context, s *Store) error {
			return s.Put(ctx, "vault/id/data.snap", io.LimitReader(zeros{}, MinPartSize+1))
		}},
		{"List", func(ctx context.Context, s *Store) error { _, err := s.List(ctx, "vault/"); return err }},
		{"Stat", func(ctx context.Context, s *Store) error { _, err := s.Stat(ctx, "vault/id/data.snap"); return err }},
		{"Get", func(ctx context.Context, s *Store) error {
			rc, err := s.Get(ctx, "vault/id/data.snap")
			if err == nil {
				rc.Close()
			}
			return err
		}},
		{"Delete", func(ctx context.Context, s *Store) error { return s.Delete(ctx, "vault/id/data.snap") }},
	}
}

// A server that dies in the middle of an upload fails the Put with a message that says so,
// and after it comes back there is no object under the key and the older backup is intact.
func TestServerDiesMidUpload(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBucket("lifeboat")
	s := newTestStore(t, m, Options{Bucket: "lifeboat", Prefix: "p"})
	ctx := testContext(t)
	if err := s.Put(ctx, "vault/old/data.snap", strings.NewReader("old backup")); err != nil {
		t.Fatal(err)
	}

	src := &hookAfterN{r: zeros{}, n: MinPartSize + MinPartSize/2, hook: m.Kill}
	start := time.Now()
	err := s.Put(ctx, "vault/new/data.snap", src)
	t.Logf("Put failed after %v: %v", time.Since(start), err)
	if err == nil || !strings.Contains(err.Error(), "cannot reach S3 endpoint "+m.Endpoint) {
		t.Fatalf("Put while the server dies = %v, want a cannot-reach error", err)
	}

	m.Start()
	if _, err := s.Stat(ctx, "vault/new/data.snap"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Stat of the interrupted object = %v, want ErrNotFound", err)
	}
	rc, err := s.Get(ctx, "vault/old/data.snap")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if data, err := io.ReadAll(rc); err != nil || string(data) != "old backup" {
		t.Fatalf("older backup after the crash = %q, %v", data, err)
	}
}

// hookAfterN calls hook once, after n bytes were read, and keeps streaming.
type hookAfterN struct {
	r    io.Reader
	n    int
	hook func()
}

func (h *hookAfterN) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if h.n -= n; h.n <= 0 && h.hook != nil {
		h.hook()
		h.hook = nil
	}
	return n, err
}
