package s3

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
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
			for _, op := range storetest.Operations(MinPartSize + 1) {
				err := op.Run(storetest.Context(t), s)
				if err == nil {
					t.Fatalf("%s succeeded, want an error", op.Name)
				}
				msg := err.Error()
				t.Logf("%s: %s", op.Name, msg)
				for _, want := range tc.want {
					if !strings.Contains(msg, want) {
						t.Errorf("%s error %q\n  does not contain %q", op.Name, msg, want)
					}
				}
				for _, secret := range []string{m.SecretKey, wrongSecret} {
					if strings.Contains(msg, secret) {
						t.Errorf("%s error %q contains a secret key", op.Name, msg)
					}
				}
				if errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s error %q wraps ErrNotFound: a broken destination is not a missing object", op.Name, msg)
				}
			}
		})
	}
}

// A server that dies in the middle of an upload fails the Put with a message that says so,
// and after it comes back there is no object under the key and the older backup is intact.
func TestServerDiesMidUpload(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBucket("lifeboat")
	s := newTestStore(t, m, Options{Bucket: "lifeboat", Prefix: "p"})
	ctx := storetest.Context(t)
	if err := s.Put(ctx, "vault/old/data.snap", strings.NewReader("old backup")); err != nil {
		t.Fatal(err)
	}

	src := &storetest.HookAfter{R: storetest.Zeros{}, N: MinPartSize + MinPartSize/2, Hook: m.Kill}
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
