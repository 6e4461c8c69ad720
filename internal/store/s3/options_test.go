package s3

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

func TestEndpoint(t *testing.T) {
	tests := []struct {
		endpoint   string
		insecure   bool
		wantHost   string
		wantSecure bool
		wantErr    string
	}{
		{"", false, DefaultEndpoint, true, ""},
		{"minio.local:9000", false, "minio.local:9000", true, ""},
		{"minio.local:9000", true, "minio.local:9000", false, ""},
		{"https://s3.example.com", false, "s3.example.com", true, ""},
		{"https://s3.example.com/", false, "s3.example.com", true, ""},
		{"http://minio:9000", false, "minio:9000", false, ""},
		{"http://minio:9000", true, "minio:9000", false, ""},
		{"https://minio:9000", true, "", false, "says https but the destination is marked insecure"},
		{"ftp://minio", false, "", false, `scheme "ftp" is not http or https`},
		{"https://minio:9000/bucket", false, "", false, "without a path"},
		{"minio:9000/bucket", false, "", false, "without a path"},
		{"https://AKIA:topsecret@minio", false, "", false, "must not contain credentials"},
	}
	for _, tc := range tests {
		host, secure, err := Options{Endpoint: tc.endpoint, Insecure: tc.insecure}.endpoint()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("endpoint(%q) error = %v, want %q", tc.endpoint, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "topsecret") {
				t.Errorf("endpoint(%q) error %q repeats the secret", tc.endpoint, err)
			}
			continue
		}
		if err != nil || host != tc.wantHost || secure != tc.wantSecure {
			t.Errorf("endpoint(%q, insecure=%v) = %q, %v, %v; want %q, %v", tc.endpoint, tc.insecure, host, secure, err, tc.wantHost, tc.wantSecure)
		}
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no bucket", Options{}, "set destinations[].s3.bucket"},
		{"bad bucket", Options{Bucket: "no spaces"}, `bucket name "no spaces" is invalid`},
		{"bad prefix", Options{Bucket: "bkt", Prefix: "a/../b"}, "prefix"},
		{"small parts", Options{Bucket: "bkt", PartSize: 1 << 20}, "below S3's minimum"},
		{"huge parts", Options{Bucket: "bkt", PartSize: 6 << 30}, "above S3's maximum"},
		{"half the keys", Options{Bucket: "bkt", AccessKeyID: "id"}, "only one of access key id and secret access key"},
		{"missing CA file", Options{Bucket: "bkt", CACertFile: "/nonexistent/ca.pem"}, "CA certificate file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Bucket: "bkt", CACertFile: notPEM}); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Fatalf("New with a non-PEM CA file = %v", err)
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Endpoint: "https://minio:9000", Bucket: "bkt", Prefix: "/team/lifeboat/"}, "s3://bkt/team/lifeboat (minio:9000)"},
		{Options{Bucket: "bkt", SecretAccessKey: "s3cr3t", AccessKeyID: "id"}, "s3://bkt (s3.amazonaws.com)"},
	} {
		s, err := New(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// explain is checked against real servers in faults_test.go; these are the cases a test
// server cannot produce.
func TestExplain(t *testing.T) {
	const secret = "s3cr3t-value"
	s, err := New(Options{Endpoint: "minio:9000", Bucket: "bkt", Prefix: "p", AccessKeyID: "id", SecretAccessKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want string
		is   error
	}{
		{"missing key", minio.ErrorResponse{Code: minio.NoSuchKey}, "get k in s3://bkt/p (minio:9000): object not found", store.ErrNotFound},
		{"access denied", minio.ErrorResponse{Code: minio.AccessDenied}, `allows listing, reading, writing and deleting objects in bucket "bkt"`, nil},
		{"expired token", minio.ErrorResponse{Code: "ExpiredToken"}, "check the access key and secret for this destination", nil},
		{"wrong region", minio.ErrorResponse{Code: "AuthorizationHeaderMalformed", Region: "eu-west-1"}, `bucket "bkt" is in another region (eu-west-1): set the destination's region`, nil},
		{"full", minio.ErrorResponse{Code: "XMinioStorageFull"}, "the destination is full", nil},
		{"too large", minio.ErrorResponse{Code: minio.EntityTooLarge}, "raise the destination's part size", nil},
		{"refused", fmt.Errorf("Put: %w", refused), "cannot reach S3 endpoint minio:9000", syscall.ECONNREFUSED},
		{"dns", &net.DNSError{Err: "no such host", Name: "minio"}, "cannot reach S3 endpoint minio:9000", nil},
		{"untrusted", x509.UnknownAuthorityError{}, "is not trusted: set the destination's CA certificate file", nil},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "minio"}, "is for another host name", nil},
		{"other", errors.New("strange"), "get k in s3://bkt/p (minio:9000): strange", nil},
	}
	for _, tc := range tests {
		err := s.explain(context.Background(), "get", "k", tc.err)
		if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.err) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: explain = %q, want it to contain %q and wrap the cause", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: explain = %q mentions the secret", tc.name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.explain(ctx, "put", "k", refused); !errors.Is(err, context.Canceled) {
		t.Errorf("explain after cancellation = %v, want context.Canceled", err)
	}
}

// The CA file is wired into TLS verification. A TLS test server stands in for S3 here: it
// is TLS, not S3, that is under test (MinIO runs without TLS in testenv).
func TestCACertFile(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		if r.URL.Query().Has("location") {
			fmt.Fprint(w, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">us-east-1</LocationConstraint>`)
			return
		}
		if r.Method == http.MethodGet {
			fmt.Fprint(w, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><IsTruncated>false</IsTruncated></ListBucketResult>`)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake is expected
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{Endpoint: srv.URL, Bucket: "bkt", PathStyle: true, AccessKeyID: "id", SecretAccessKey: "secret"}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "is not trusted") {
		t.Fatalf("Check without the CA = %v, want an untrusted-certificate error", err)
	}
	opts.CACertFile = caFile
	if s, err = New(opts); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("Check with the CA file: %v", err)
	}
}
