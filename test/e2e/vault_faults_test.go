package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// MinIO dies in the middle of a backup: the directory still gets a committed backup, the
// run exits 2 (partial), what MinIO already held survives, and mirror fills the gap.
func TestVaultBackupSurvivesMinIODyingMidRun(t *testing.T) {
	s := newVaultSetup(t, testenv.OpenBao, "")
	c := s.vault.Client()
	seed(t, c)
	first := s.lifeboat(t, 0, "backup", "vault")
	_ = first
	before := listBackups(t, s)
	if len(before["minio"]) != 1 {
		t.Fatalf("first backup not in minio: %+v", before)
	}
	grow(t, c, 48) // big enough that the upload is still running when MinIO hangs

	// Hang MinIO as soon as a multipart upload has started (MinIO keeps its parts under
	// .minio.sys/multipart), then kill it: the upload is cut off mid-stream,
	// deterministically. (ListMultipartUploads can't be used: MinIO lists uploads of an
	// exact key only, and the backup id is not known in advance.)
	multipart := filepath.Join(s.minio.DataDir, "data", ".minio.sys", "multipart")
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if entries, _ := os.ReadDir(multipart); len(entries) > 0 {
				s.minio.Freeze()
				time.Sleep(500 * time.Millisecond)
				s.minio.Kill()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	r := s.lifeboat(t, 2, "backup", "vault")
	<-killed
	if !strings.Contains(r.stdout, "minio") || !strings.Contains(r.stdout, "FAILED") || !strings.Contains(r.stderr, "destination minio") {
		t.Fatalf("the failed destination is not reported:\n%s", r)
	}
	// The local directory committed the new backup.
	r = mustRun(t, 0, s.env, "--config", s.config, "list", "vault", "--destination", "local", "--json")
	if strings.Count(r.stdout, `"id"`) != 2 {
		t.Fatalf("local should hold 2 backups:\n%s", r)
	}

	s.minio.Start()
	after := listBackups(t, s)
	if len(after["minio"]) != 1 || after["minio"][0].ID != before["minio"][0].ID {
		t.Fatalf("minio lost or gained backups: before %+v after %+v", before["minio"], after["minio"])
	}
	// No half-written object is visible as a backup, and mirror catches up.
	r = s.lifeboat(t, 0, "mirror", "--from", "local", "--to", "minio")
	if !strings.Contains(r.stdout, "1 backups copied") {
		t.Fatalf("mirror output:\n%s", r)
	}
	final := listBackups(t, s)
	if len(final["minio"]) != 2 || final["minio"][0].SHA256 != final["local"][0].SHA256 {
		t.Fatalf("after mirror: %+v", final)
	}
	s.lifeboat(t, 0, "verify", final["minio"][0].ID, "--destination", "minio")
	// A second mirror has nothing to do and never deletes.
	r = s.lifeboat(t, 0, "mirror", "--from", "minio", "--to", "local")
	if !strings.Contains(r.stdout, "0 backups copied") {
		t.Fatalf("second mirror:\n%s", r)
	}
}

// damagingProxy forwards to Vault but damages the snapshot body, like a broken proxy or
// a standby that streams a short answer.
func damagingProxy(t *testing.T, target string, damage func([]byte) []byte) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/sys/storage/raft/snapshot") || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		damaged := damage(body)
		resp.Body = io.NopCloser(strings.NewReader(string(damaged)))
		resp.ContentLength = int64(len(damaged))
		resp.Header.Del("Content-Length")
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestVaultDamagedSnapshotIsNeverCommitted(t *testing.T) {
	s := newVaultSetup(t, testenv.OpenBao, "")
	seed(t, s.vault.Client())
	s.lifeboat(t, 0, "backup", "vault")
	good := listBackups(t, s)

	tests := []struct {
		name   string
		damage func([]byte) []byte
		want   string
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }, "truncated"},
		{"corrupted", func(b []byte) []byte {
			b[len(b)/2] ^= 0xff
			return b
		}, "corrupt raft snapshot"},
		{"empty", func([]byte) []byte { return nil }, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxyURL := damagingProxy(t, s.vault.Addr(), tt.damage)
			cfg := strings.Replace(readFile(t, s.config), s.vault.Addr(), proxyURL, 1)
			path := writeFile(t, filepath.Join(t.TempDir(), "via-proxy.yaml"), cfg)
			r := mustRun(t, 1, s.env, "--config", path, "backup", "vault")
			if !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("error does not say %q:\n%s", tt.want, r)
			}
			if got := listBackups(t, s); len(got["local"]) != 1 || len(got["minio"]) != 1 || got["local"][0].ID != good["local"][0].ID {
				t.Fatalf("a damaged snapshot changed what is stored: %+v", got)
			}
			// Not even an unfinished data object is left in MinIO.
			for obj := range s.minio.Client().ListObjects(context.Background(), "backups", minio.ListObjectsOptions{Recursive: true}) {
				if !strings.Contains(obj.Key, good["minio"][0].ID) {
					t.Fatalf("object %s left in minio by a failed run", obj.Key)
				}
			}
		})
	}
}

func TestVaultWrongCredentialsSayWhatToFix(t *testing.T) {
	s := newVaultSetup(t, testenv.OpenBao, "")
	writeFile(t, s.tokenFile, "s.wrong-token\n")
	r := s.lifeboat(t, 1, "backup", "vault")
	if !strings.Contains(r.stderr, "rejected the token") || !strings.Contains(r.stderr, s.tokenFile) {
		t.Fatalf("wrong token message:\n%s", r)
	}
	if strings.Contains(r.stderr+r.stdout, "s.wrong-token") {
		t.Fatal("the token value leaked into the output")
	}
	os.Remove(s.tokenFile)
	r = s.lifeboat(t, 1, "backup", "vault")
	if !strings.Contains(r.stderr, s.tokenFile) {
		t.Fatalf("missing token file message:\n%s", r)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A stored copy that rots is caught by verify, and restore refuses it before touching Vault.
func TestVaultVerifyCatchesACorruptCopy(t *testing.T) {
	s := newVaultSetup(t, testenv.OpenBao, "")
	seed(t, s.vault.Client())
	s.lifeboat(t, 0, "backup", "vault")
	id := listBackups(t, s)["local"][0].ID
	data := filepath.Join(s.localDir, "vault", id, "data.snap")
	raw, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/3] ^= 0x01
	if err := os.WriteFile(data, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	r := s.lifeboat(t, 2, "verify", "latest")
	if !strings.Contains(r.stdout, "in minio: OK") || !strings.Contains(r.stdout, "in local: FAILED") || !strings.Contains(r.stdout, "checksum mismatch") {
		t.Fatalf("verify output:\n%s", r)
	}
	r = s.lifeboat(t, 1, "restore", "vault", "--snapshot", id, "--from", "local")
	if !strings.Contains(r.stderr, "refusing to restore") {
		t.Fatalf("restore of a corrupt copy:\n%s", r)
	}
	s.lifeboat(t, 0, "restore", "vault", "--snapshot", id, "--from", "minio")
}

// A destination that cannot even be opened (its key file is missing) fails alone: the
// directory still gets a committed backup, the run exits 2, and the error names the
// destination and the missing file. --destination opens only what it names.
func TestVaultBackupGoesOnWhenADestinationCannotBeOpened(t *testing.T) {
	s := newVaultSetup(t, testenv.OpenBao, "")
	seed(t, s.vault.Client())
	missing := filepath.Join(s.dir, "no-such-access-key")
	cfg := strings.Replace(readFile(t, s.config), "accessKeyID: {env: TEST_S3_ACCESS_KEY}", "accessKeyID: {file: "+missing+"}", 1)
	broken := writeFile(t, filepath.Join(s.dir, "broken-minio.yaml"), cfg)

	r := mustRun(t, 2, s.env, "--config", broken, "backup", "vault")
	if !strings.Contains(r.stdout, "FAILED") || !strings.Contains(r.stderr, "destination minio") || !strings.Contains(r.stderr, missing) {
		t.Fatalf("the unopened destination is not reported with its cause:\n%s", r)
	}
	if got := listBackups(t, s); len(got["local"]) != 1 || len(got["minio"]) != 0 {
		t.Fatalf("want one committed backup in local only: %+v", got)
	}
	r = mustRun(t, 0, s.env, "--config", broken, "backup", "vault", "--destination", "local")
	if strings.Contains(r.stdout+r.stderr, missing) {
		t.Fatalf("--destination local opened minio:\n%s", r)
	}
}

// A destination that does not answer makes `verify latest` partial, naming it: it may
// hold a newer backup.
func TestVaultVerifyReportsADestinationThatCannotBeListed(t *testing.T) {
	s := newVaultSetup(t, testenv.OpenBao, "")
	seed(t, s.vault.Client())
	s.lifeboat(t, 0, "backup", "vault")
	s.minio.Kill()
	r := s.lifeboat(t, 2, "verify", "latest")
	if !strings.Contains(r.stdout, "in local: OK") || !strings.Contains(r.stdout, "NOT CHECKED") || !strings.Contains(r.stdout, "destination minio") {
		t.Fatalf("verify output:\n%s", r)
	}
}
