package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// FakeGCS is a real fake-gcs-server (the GCS JSON API emulator) over plain HTTP, keeping
// its buckets in a data directory so that a restart keeps them.
type FakeGCS struct {
	Endpoint string // host:port, plain http
	DataDir  string

	t    testing.TB
	proc *Process
}

// StartFakeGCS starts fake-gcs-server on a free port. Stop and Start restart it on the same
// port and data, for tests of a destination that goes away mid-run. Uploads in progress
// live in the server's memory and are lost by a restart, as GCS loses an abandoned
// session: only finalized objects are on disk.
func StartFakeGCS(t testing.TB) *FakeGCS {
	t.Helper()
	g := &FakeGCS{DataDir: TempDir(t, "fake-gcs"), t: t}
	g.Endpoint = net.JoinHostPort("127.0.0.1", fmt.Sprint(FreePort(t)))
	g.Start()
	return g
}

// URL is the server's base URL, the endpoint a gcs destination is configured with.
func (g *FakeGCS) URL() string { return "http://" + g.Endpoint }

// Start (re)starts the server and waits until it is live.
func (g *FakeGCS) Start() {
	g.t.Helper()
	bin := Binary(g.t, "fake-gcs-server")
	_, port, _ := net.SplitHostPort(g.Endpoint)
	g.proc = StartProcess(g.t, "fake-gcs-server", g.DataDir, nil, bin,
		"-scheme", "http", "-host", "127.0.0.1", "-port", port,
		// Upload session URLs point here rather than at the default public host name.
		"-external-url", g.URL(), "-public-host", g.Endpoint,
		"-backend", "filesystem", "-filesystem-root", g.DataDir+"/data",
		"-log-level", "warn")
	WaitFor(g.t, g.proc, 60*time.Second, "fake-gcs-server to be live", HTTPStatusOK(http.DefaultClient, g.URL()+"/_internal/healthcheck"))
}

// Stop stops the server; its data stays for a later Start.
func (g *FakeGCS) Stop() { g.proc.Stop() }

// Kill ends the server abruptly.
func (g *FakeGCS) Kill() { g.proc.Kill() }

// MakeBucket creates a bucket (and fails the test if it cannot).
func (g *FakeGCS) MakeBucket(name string) {
	g.t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name})
	if _, err := g.call(http.MethodPost, "/storage/v1/b", "application/json", body); err != nil {
		g.t.Fatalf("make bucket %s: %v", name, err)
	}
}

// PutObject writes an object directly, bypassing lifeboat (and its key rules).
func (g *FakeGCS) PutObject(bucket, name string, data []byte) {
	g.t.Helper()
	path := "/upload/storage/v1/b/" + url.PathEscape(bucket) + "/o?uploadType=media&name=" + url.QueryEscape(name)
	if _, err := g.call(http.MethodPost, path, "application/octet-stream", data); err != nil {
		g.t.Fatalf("put object %s/%s: %v", bucket, name, err)
	}
}

// ObjectNames lists every object of a bucket, as the server has it.
func (g *FakeGCS) ObjectNames(bucket string) []string {
	g.t.Helper()
	var names []string
	token := ""
	for {
		path := "/storage/v1/b/" + url.PathEscape(bucket) + "/o?maxResults=1000&pageToken=" + url.QueryEscape(token)
		data, err := g.call(http.MethodGet, path, "", nil)
		if err != nil {
			g.t.Fatalf("list bucket %s: %v", bucket, err)
		}
		var page struct {
			Items         []struct{ Name string } `json:"items"`
			NextPageToken string                  `json:"nextPageToken"`
		}
		if err := json.Unmarshal(data, &page); err != nil {
			g.t.Fatalf("list bucket %s: %v", bucket, err)
		}
		for _, item := range page.Items {
			names = append(names, item.Name)
		}
		if token = page.NextPageToken; token == "" {
			return names
		}
	}
}

func (g *FakeGCS) call(method, path, contentType string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.URL()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	return data, nil
}
