package gcs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Every operation against a destination that is misconfigured or gone fails with a message
// that names the destination, says what to do, and is never taken for a missing object.
//
// Wrong credentials cannot be shown with the emulator: it accepts any token or none, and
// lifeboat sends none over plain HTTP. TestRejectedKey covers the step that does reject a
// bad key, the token exchange.
func TestFaultMessages(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("lifeboat")
	stopped := testenv.StartFakeGCS(t)
	stopped.Stop()
	closedPort := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))

	tests := []struct {
		name string
		opts Options
		want []string // substrings of every operation's error
	}{
		{"server stopped", Options{Endpoint: stopped.URL(), Bucket: "lifeboat"},
			[]string{"gs://lifeboat/p (" + stopped.Endpoint + ")", "cannot reach GCS endpoint " + stopped.Endpoint, "that the service is up"}},
		{"nothing listening", Options{Endpoint: "http://" + closedPort, Bucket: "lifeboat"},
			[]string{"cannot reach GCS endpoint " + closedPort}},
		{"bucket missing", Options{Bucket: "nope"},
			[]string{`bucket "nope" does not exist at ` + g.Endpoint + ": create it or fix destinations[].gcs.bucket"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Prefix = "p"
			s := newTestStore(t, g, tc.opts)
			for _, op := range storetest.Operations(2*ChunkAlign + 1) {
				start := time.Now()
				err := op.Run(storetest.Context(t), s)
				if err == nil {
					t.Fatalf("%s succeeded, want an error", op.Name)
				}
				msg := err.Error()
				t.Logf("%s (%v): %s", op.Name, time.Since(start).Round(time.Millisecond), msg)
				for _, want := range tc.want {
					if !strings.Contains(msg, want) {
						t.Errorf("%s error %q\n  does not contain %q", op.Name, msg, want)
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
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("lifeboat")
	s := newTestStore(t, g, Options{Bucket: "lifeboat", Prefix: "p"})
	ctx := storetest.Context(t)
	if err := s.Put(ctx, "vault/old/data.snap", strings.NewReader("old backup")); err != nil {
		t.Fatal(err)
	}

	// Killed after four chunks were read, while later ones are still to be sent.
	src := &storetest.HookAfter{R: io.LimitReader(storetest.Zeros{}, 16*ChunkAlign), N: 4 * ChunkAlign, Hook: g.Kill}
	start := time.Now()
	err := s.Put(ctx, "vault/new/data.snap", src)
	t.Logf("Put failed after %v: %v", time.Since(start), err)
	if err == nil || !strings.Contains(err.Error(), "cannot reach GCS endpoint "+g.Endpoint) {
		t.Fatalf("Put while the server dies = %v, want a cannot-reach error", err)
	}

	g.Start()
	if names := g.ObjectNames("lifeboat"); !slices.Equal(names, []string{"p/vault/old/data.snap"}) {
		t.Fatalf("bucket after the crash holds %q, want only the older backup", names)
	}
	if _, err := s.Stat(ctx, "vault/new/data.snap"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Stat of the interrupted object = %v, want ErrNotFound", err)
	}
	wantContent(t, s, "vault/old/data.snap", "old backup")
}

// The emulator cannot reject credentials, so the token exchange stands in: a service
// account key is traded for a token at the key's token_uri before any request, and that
// is where a deleted or disabled key fails. A local endpoint answers as Google's does for
// a deleted key. Every operation must fail saying which credentials to check, without
// quoting the key, and without reaching the storage endpoint.
func TestRejectedKey(t *testing.T) {
	var exchanges atomic.Int32
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The client signed a JWT with the key and sent it as a bearer grant.
		if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || strings.Count(r.PostForm.Get("assertion"), ".") != 2 {
			http.Error(w, "not a JWT bearer grant", http.StatusBadRequest)
			return
		}
		exchanges.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
	}))
	defer tokens.Close()
	keyFile, privateKey := writeServiceAccountKey(t, tokens.URL+"/token")
	s, err := New(Options{Bucket: "lifeboat", Prefix: "p", CredentialsFile: keyFile,
		Endpoint: fmt.Sprintf("https://127.0.0.1:%d", testenv.FreePort(t)), ChunkSize: ChunkAlign})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, op := range storetest.Operations(2*ChunkAlign + 1) {
		err := op.Run(storetest.Context(t), s)
		if err == nil {
			t.Fatalf("%s succeeded with a rejected key", op.Name)
		}
		msg := err.Error()
		t.Logf("%s: %s", op.Name, msg)
		want := "could not get an access token using the service account key in " + keyFile + ": check that the service account key is current"
		if !strings.Contains(msg, want) {
			t.Errorf("%s error %q\n  does not contain %q", op.Name, msg, want)
		}
		if strings.Contains(msg, "PRIVATE KEY") || strings.Contains(msg, privateKey[40:80]) {
			t.Errorf("%s error quotes the private key", op.Name)
		}
		if errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s error %q wraps ErrNotFound", op.Name, msg)
		}
	}
	if exchanges.Load() == 0 {
		t.Fatal("the token endpoint was never asked: the key file was not used")
	}
}

// writeServiceAccountKey writes a service account key file, as `gcloud iam
// service-accounts keys create` does, whose token exchange goes to tokenURI.
func writeServiceAccountKey(t *testing.T, tokenURI string) (path, privateKeyPEM string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	privateKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	data, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "lifeboat-test",
		"private_key_id": "0123456789abcdef",
		"private_key":    privateKeyPEM,
		"client_email":   "lifeboat@lifeboat-test.iam.gserviceaccount.com",
		"client_id":      "1234567890",
		"token_uri":      tokenURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, privateKeyPEM
}
