package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is a real MinIO server with one data directory.
type MinIO struct {
	Endpoint  string // host:port, plain http
	AccessKey string
	SecretKey string
	DataDir   string

	t    testing.TB
	port int
	proc *Process
}

// StartMinIO starts a MinIO server on a free port. Stop and Start restart it on the same
// port and data, for tests of a destination that goes away mid-run.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	return StartMinIOOn(t, "127.0.0.1")
}

// StartMinIOOn is StartMinIO listening on host (e.g. the test cluster's node address, which
// pods reach).
func StartMinIOOn(t testing.TB, host string) *MinIO {
	t.Helper()
	m := &MinIO{
		AccessKey: "lifeboat-test",
		SecretKey: "lifeboat-test-secret",
		DataDir:   TempDir(t, "minio"),
		t:         t,
		port:      freePortOn(host),
	}
	m.Endpoint = net.JoinHostPort(host, fmt.Sprint(m.port))
	m.Start()
	return m
}

// URL is the server's base URL.
func (m *MinIO) URL() string { return "http://" + m.Endpoint }

// Start (re)starts the server and waits until it is live.
func (m *MinIO) Start() {
	m.t.Helper()
	bin := Binary(m.t, "minio")
	m.proc = StartProcess(m.t, "minio", m.DataDir, []string{
		"MINIO_ROOT_USER=" + m.AccessKey,
		"MINIO_ROOT_PASSWORD=" + m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	}, bin, "server", "--quiet", "--address", m.Endpoint, m.DataDir+"/data")
	WaitFor(m.t, m.proc, 60*time.Second, "minio to be live", HTTPStatusOK(http.DefaultClient, m.URL()+"/minio/health/ready"))
}

// Stop stops the server; its data stays for a later Start.
func (m *MinIO) Stop() { m.proc.Stop() }

// Kill ends the server abruptly.
func (m *MinIO) Kill() { m.proc.Kill() }

// Client returns a minio-go client with the root credentials.
func (m *MinIO) Client() *minio.Client {
	m.t.Helper()
	c, err := minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		m.t.Fatalf("minio client: %v", err)
	}
	return c
}

// MakeBucket creates a bucket (and fails the test if it cannot).
func (m *MinIO) MakeBucket(name string) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Client().MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		m.t.Fatalf("make bucket %s: %v", name, err)
	}
}

// Freeze makes the server hang (SIGSTOP) until it is killed or stopped.
func (m *MinIO) Freeze() { m.proc.Freeze() }

// MakeLockedBucket creates a bucket with object lock enabled (and so versioning), as
// `mc mb --with-lock` does; object lock can only be turned on at creation.
func (m *MinIO) MakeLockedBucket(name string) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Client().MakeBucket(ctx, name, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		m.t.Fatalf("make bucket %s with object lock: %v", name, err)
	}
}
