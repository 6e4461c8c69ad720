package gcs

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"cloud.google.com/go/auth"
	"google.golang.org/api/googleapi"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		endpoint string
		want     endpoint
		wantErr  string
	}{
		{"", endpoint{host: googleHost}, ""},
		{"http://127.0.0.1:4443", endpoint{api: "http://127.0.0.1:4443/storage/v1/", host: "127.0.0.1:4443", plain: true}, ""},
		{"https://storage-acme.p.googleapis.com/", endpoint{api: "https://storage-acme.p.googleapis.com/storage/v1/", host: "storage-acme.p.googleapis.com"}, ""},
		{"https://private.example:8443/storage/v1/", endpoint{api: "https://private.example:8443/storage/v1/", host: "private.example:8443"}, ""},
		{"storage.googleapis.com", endpoint{}, `scheme "" is not http or https`},
		{"ftp://h", endpoint{}, `scheme "ftp" is not http or https`},
		{"https://h/bucket", endpoint{}, `has the path "/bucket"`},
		{"https://h?x=1", endpoint{}, "must be an https://host[:port] URL"},
		{"https://me:topsecret@h", endpoint{}, "must not contain credentials"},
	}
	for _, tc := range tests {
		got, err := Options{Endpoint: tc.endpoint}.parseEndpoint()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseEndpoint(%q) error = %v, want %q", tc.endpoint, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "topsecret") {
				t.Errorf("parseEndpoint(%q) error %q repeats the secret", tc.endpoint, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseEndpoint(%q) = %+v, %v; want %+v", tc.endpoint, got, err, tc.want)
		}
	}
}

// New refuses what it can tell is wrong before any request, naming the field to fix and
// never quoting a credentials file.
func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const secret = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQ"
	notJSON := write("not.json", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQ\n")
	external := write("wif.json", `{"type": "external_account", "audience": "//iam.googleapis.com/x", "private_key": "`+secret+`"}`)
	partial := write("partial.json", `{"type": "service_account", "private_key": "`+secret+`"}`)
	https := "https://127.0.0.1:1"
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no bucket", Options{Endpoint: https}, "set destinations[].gcs.bucket"},
		{"bad bucket", Options{Bucket: "a/b", Endpoint: https}, `bucket name "a/b" is invalid`},
		{"bad prefix", Options{Bucket: "bkt", Prefix: "a/../b", Endpoint: https}, "prefix"},
		{"odd chunk", Options{Bucket: "bkt", ChunkSize: 1 << 20 / 3, Endpoint: https}, "not a positive multiple of 256 KiB"},
		{"bad endpoint", Options{Bucket: "bkt", Endpoint: "h:1"}, "not http or https"},
		{"missing key file", Options{Bucket: "bkt", Endpoint: https, CredentialsFile: filepath.Join(dir, "nope.json")},
			"read the GCS credentials file: open " + dir + "/nope.json: no such file or directory: check destinations[].gcs.credentialsFile"},
		{"key file not JSON", Options{Bucket: "bkt", Endpoint: https, CredentialsFile: notJSON}, "is not JSON: download a service account key"},
		{"not a service account", Options{Bucket: "bkt", Endpoint: https, CredentialsFile: external}, `holds credentials of type "external_account", not a service account key`},
		{"incomplete key", Options{Bucket: "bkt", Endpoint: https, CredentialsFile: partial}, "without client_email or private_key"},
		{"key for an emulator", Options{Bucket: "bkt", Endpoint: "http://127.0.0.1:1", CredentialsFile: partial}, "is plain HTTP (an emulator), where no credentials are sent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "MIIEvQ") {
				t.Fatalf("New error %q quotes the key file", err)
			}
		})
	}
}

func TestName(t *testing.T) {
	for _, tc := range []struct {
		bucket, prefix, endpoint, want string
	}{
		{"bkt", "", "", "gs://bkt"},
		{"bkt", "/team/lifeboat/", "", "gs://bkt/team/lifeboat"},
		{"bkt", "p", "http://127.0.0.1:4443", "gs://bkt/p (127.0.0.1:4443)"},
		{"bkt", "p", "https://storage-acme.p.googleapis.com/storage/v1/", "gs://bkt/p (storage-acme.p.googleapis.com)"},
	} {
		if got := Name(tc.bucket, tc.prefix, tc.endpoint); got != tc.want {
			t.Errorf("Name(%q, %q, %q) = %q, want %q", tc.bucket, tc.prefix, tc.endpoint, got, tc.want)
		}
		if tc.endpoint == "" {
			continue // New would look for Application Default Credentials
		}
		s, err := New(Options{Bucket: tc.bucket, Prefix: tc.prefix, Endpoint: tc.endpoint, CredentialsFile: keyFileFor(t, tc.endpoint)})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.String(); got != tc.want {
			t.Errorf("String() = %q, want Name's %q", got, tc.want)
		}
		s.Close()
	}
}

// keyFileFor returns a service account key for an https endpoint, none for an emulator.
func keyFileFor(t *testing.T, endpoint string) string {
	if strings.HasPrefix(endpoint, "http://") {
		return ""
	}
	path, _ := writeServiceAccountKey(t, "http://127.0.0.1:1/token")
	return path
}

// explain is checked against real servers in faults_test.go; these are the answers an
// emulator never gives.
func TestExplain(t *testing.T) {
	s, err := New(Options{Bucket: "bkt", Prefix: "p", Endpoint: "http://gcs.local:4443"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	apiErr := func(code int, msg string) error { return &googleapi.Error{Code: code, Message: msg} }
	tests := []struct {
		name string
		err  error
		want string
		is   error
	}{
		{"unauthenticated", apiErr(401, "Invalid Credentials"), "GCS endpoint gcs.local:4443 rejected no credentials (plain HTTP emulator): check the service account key", nil},
		{"forbidden", apiErr(403, "lifeboat@p.iam.gserviceaccount.com does not have storage.objects.create access"),
			`storage.objects.create, storage.objects.get, storage.objects.list and storage.objects.delete on bucket "bkt" (e.g. roles/storage.objectUser`, nil},
		{"retention", apiErr(403, "Object 'p/k' is subject to bucket's retention policy or object retention and cannot be deleted"),
			`protected by bucket "bkt"'s retention policy or an object hold`, nil},
		{"held", apiErr(403, "Object 'p/k' is under active Event-Based hold"), "retention policy or an object hold", nil},
		{"bad bucket name", apiErr(400, "Invalid bucket name: 'bkt'"), `GCS refused bucket name "bkt"`, nil},
		{"throttled", apiErr(429, "rate limit"), "GCS is throttling requests (429)", nil},
		{"server error", apiErr(503, "backend error"), "GCS endpoint gcs.local:4443 failed (503) after 4 attempts", nil},
		{"bucket 404", apiErr(404, "The specified bucket does not exist."), `bucket "bkt" does not exist at gcs.local:4443`, nil},
		{"token", fmt.Errorf("Get x: %w", &auth.Error{Response: &http.Response{StatusCode: 400}, Body: []byte(`{"error":"invalid_grant"}`)}),
			"could not get an access token using no credentials (plain HTTP emulator)", nil},
		{"token endpoint unreachable", fmt.Errorf("Get x: auth: cannot fetch token: %w", refused),
			"could not get an access token using no credentials (plain HTTP emulator)", syscall.ECONNREFUSED},
		{"refused", fmt.Errorf("Put: %w", refused), "cannot reach GCS endpoint gcs.local:4443", syscall.ECONNREFUSED},
		{"dns", &net.DNSError{Err: "no such host", Name: "gcs.local"}, "cannot reach GCS endpoint gcs.local:4443", nil},
		{"untrusted", x509.UnknownAuthorityError{}, "is not trusted: add the CA", nil},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "gcs.local"}, "is for another host name", nil},
		{"other", errors.New("strange"), "get k in gs://bkt/p (gcs.local:4443): strange", nil},
	}
	for _, tc := range tests {
		err := s.explain(context.Background(), "get", "k", tc.err)
		if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.err) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: explain = %q, want it to contain %q and wrap the cause", tc.name, err, tc.want)
		}
		if errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: explain = %q wraps ErrNotFound", tc.name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.explain(ctx, "put", "k", refused); !errors.Is(err, context.Canceled) {
		t.Errorf("explain after cancellation = %v, want context.Canceled", err)
	}
}

// A service account key works end to end up to the storage endpoint: the key is traded for
// a token, and the request goes out with it over TLS. Pointed at the plain-HTTP emulator,
// that request fails with a message that says why.
func TestHTTPSToPlainServer(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	g.MakeBucket("lifeboat")
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"ya29.test-token","token_type":"Bearer","expires_in":3600}`)
	}))
	defer tokens.Close()
	keyFile, _ := writeServiceAccountKey(t, tokens.URL+"/token")
	s, err := New(Options{Bucket: "lifeboat", Endpoint: "https://" + g.Endpoint, CredentialsFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, op := range storetest.Operations(2*ChunkAlign + 1) {
		err := op.Run(storetest.Context(t), s)
		if err == nil || !strings.Contains(err.Error(), "GCS endpoint "+g.Endpoint+" speaks plain HTTP, not TLS") {
			t.Errorf("%s = %v, want a speaks-plain-HTTP error", op.Name, err)
		}
	}
}

// parseEndpoint never panics, accepts only http(s) URLs of a host that it turns into the
// JSON API's base, and never repeats user-info (which may hold a password) in its errors.
func FuzzParseEndpoint(f *testing.F) {
	for _, seed := range []string{"", "http://127.0.0.1:4443", "https://h/storage/v1/", "https://u:pw@h", "h:1", "https://h/x?y#z", "http://[::1]:80"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, e string) {
		ep, err := Options{Endpoint: e}.parseEndpoint()
		if err != nil {
			if i := strings.Index(e, "://"); i >= 0 {
				if at := strings.LastIndex(e, "@"); at > i+3 && strings.Contains(err.Error(), e[i+3:at]) && len(e[i+3:at]) > 3 {
					t.Fatalf("error %q repeats the user-info of %q", err, e)
				}
			}
			return
		}
		if strings.TrimSpace(e) == "" {
			if ep.api != "" || ep.host != googleHost {
				t.Fatalf("empty endpoint = %+v, want Google's", ep)
			}
			return
		}
		if !strings.HasSuffix(ep.api, "/storage/v1/") || ep.host == "" || ep.plain != strings.HasPrefix(ep.api, "http://") {
			t.Fatalf("parseEndpoint(%q) = %+v", e, ep)
		}
	})
}
