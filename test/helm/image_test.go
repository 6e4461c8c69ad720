package helm

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/ociimage"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// imageArchive is bin/lifeboat-image.tar, what `make image` (scripts/build-image.sh)
// writes. scripts/test.sh builds it before the tests; without it the test skips on a
// developer machine, and under CI=true builds it (and fails if that fails).
func imageArchive(t *testing.T) string {
	t.Helper()
	root := testenv.RepoRoot()
	archive := filepath.Join(root, "bin", "lifeboat-image.tar")
	if _, err := os.Stat(archive); err == nil {
		return archive
	}
	if !testenv.InCI() {
		t.Skipf("no %s: run make image (with CI=true this test builds it)", archive)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "build-image.sh"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-image.sh: %v\n%s", err, out)
	}
	return archive
}

// The image archive holds what the chart runs: the config (user, entrypoint, working
// directory, environment) and, merged over its layers, lifeboat (static) and bao at the
// paths the Dockerfile uses, the PostgreSQL client the chart's binDir points at (and
// Debian's wrappers on PATH), CA certificates, time zones, the lifeboat user and its
// directories, and no device nodes. Every layer's digest and diff_id is checked on the way.
func TestImageArchive(t *testing.T) {
	archive := imageArchive(t)
	vars := buildImageVars(t)
	v := func(name string) string { return buildImageVar(t, vars, name) }
	img, err := ociimage.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()

	if i := strings.LastIndex(img.Ref, "/lifeboat:"); i < 0 || strings.Contains(img.Ref[i+1:], "/") {
		t.Errorf("image name %q: want .../lifeboat:TAG", img.Ref)
	}
	cfg := img.Config.Config
	if cfg.User != "65532:65532" || cfg.User != v("APP_UID")+":"+v("APP_GID") {
		t.Errorf("config User %q, want 65532:65532", cfg.User)
	}
	if !slices.Equal(cfg.Entrypoint, []string{"/usr/local/bin/lifeboat"}) || !slices.Equal(cfg.Cmd, []string{"--help"}) {
		t.Errorf("config Entrypoint %q Cmd %q, want [/usr/local/bin/lifeboat] [--help]", cfg.Entrypoint, cfg.Cmd)
	}
	if cfg.WorkingDir != "/var/lib/lifeboat" {
		t.Errorf("config WorkingDir %q", cfg.WorkingDir)
	}
	for _, want := range []string{"LIFEBOAT_CONFIG=" + v("CONFIG_FILE"), "LIFEBOAT_LOG_FORMAT=json", "PATH=" + v("IMAGE_PATH")} {
		if !slices.Contains(cfg.Env, want) {
			t.Errorf("config Env %q lacks %s", cfg.Env, want)
		}
	}
	if !strings.Contains(":"+v("IMAGE_PATH")+":", ":/usr/bin:") {
		t.Errorf("PATH %s lacks /usr/bin, where Debian's pg_dump wrapper is", v("IMAGE_PATH"))
	}
	if len(img.Manifest.Layers) != 2 {
		t.Errorf("%d layers, want 2 (Debian rootfs, binaries)", len(img.Manifest.Layers))
	}

	// The merged filesystem: a later layer's entry replaces an earlier one's.
	files := map[string]*tar.Header{}
	contents := map[string][]byte{}
	keep := map[string]bool{"etc/passwd": true, "etc/group": true, "usr/local/bin/lifeboat": true}
	for i := range img.Manifest.Layers {
		err := img.WalkLayer(i, func(hdr *tar.Header, r io.Reader) error {
			name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
			if strings.HasPrefix(path.Base(name), ".wh.") {
				t.Errorf("layer %d: whiteout %s (the image is built from scratch)", i+1, name)
			}
			files[name] = hdr
			if keep[name] {
				data, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				contents[name] = data
			}
			return nil
		})
		if err != nil {
			t.Fatalf("layer %d: %v", i+1, err)
		}
	}
	regular := func(name string, mode int64) {
		t.Helper()
		h := files[name]
		if h == nil {
			t.Errorf("image lacks /%s", name)
			return
		}
		if h.Typeflag != tar.TypeReg || h.Size == 0 {
			t.Errorf("/%s: type %c, %d bytes; want a regular file", name, h.Typeflag, h.Size)
		}
		if mode != 0 && (h.Mode&0o7777 != mode || h.Uid != 0 || h.Gid != 0) {
			t.Errorf("/%s: mode %o owner %d:%d, want %o root:root", name, h.Mode&0o7777, h.Uid, h.Gid, mode)
		}
	}
	regular(strings.TrimPrefix(v("LIFEBOAT_BIN"), "/"), 0o755)
	regular(strings.TrimPrefix(v("BAO_BIN"), "/"), 0o755)
	binDir := "usr/lib/postgresql/" + v("PG_MAJOR") + "/bin/"
	if binDir != "usr/lib/postgresql/17/bin/" {
		t.Errorf("PostgreSQL client %s, want 17 (the chart's binDir default)", binDir)
	}
	for _, tool := range []string{"pg_dump", "pg_dumpall", "pg_restore", "psql"} {
		regular(binDir+tool, 0o755)
		if h := files["usr/bin/"+tool]; h == nil || h.Typeflag != tar.TypeSymlink || !strings.HasSuffix(h.Linkname, "pg_wrapper") {
			t.Errorf("/usr/bin/%s: want Debian's pg_wrapper symlink, got %+v", tool, h)
		}
	}
	regular("etc/ssl/certs/ca-certificates.crt", 0)
	if files["usr/share/zoneinfo/Europe/Berlin"] == nil {
		t.Error("image lacks tzdata (/usr/share/zoneinfo/Europe/Berlin)")
	}
	for _, dir := range []string{v("APP_HOME"), v("CONFIG_DIR")} {
		h := files[strings.TrimPrefix(dir, "/")]
		if h == nil || h.Typeflag != tar.TypeDir || h.Uid != 65532 || h.Gid != 65532 || h.Mode&0o7777 != 0o750 {
			t.Errorf("%s: want a directory 65532:65532 mode 0750, got %+v", dir, h)
		}
	}
	if !bytes.Contains(contents["etc/passwd"], []byte("\nlifeboat:x:65532:65532::/var/lib/lifeboat:/usr/sbin/nologin\n")) {
		t.Errorf("/etc/passwd lacks the lifeboat user:\n%s", contents["etc/passwd"])
	}
	if !bytes.Contains(contents["etc/group"], []byte("\nlifeboat:x:65532:\n")) {
		t.Errorf("/etc/group lacks the lifeboat group:\n%s", contents["etc/group"])
	}
	for name, h := range files {
		if h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock {
			t.Errorf("device node /%s: the runtime provides /dev", name)
		}
	}
	if bin := contents["usr/local/bin/lifeboat"]; bin != nil {
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("/usr/local/bin/lifeboat: %v", err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("/usr/local/bin/lifeboat is dynamically linked; want a static (CGO_ENABLED=0) build")
			}
		}
	}
}
