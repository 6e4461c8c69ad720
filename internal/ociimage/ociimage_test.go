package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// entry is what a test expects of one layer entry.
type entry struct {
	typ      byte
	mode     int64
	uid, gid int
	data     string // contents, or a symlink's target
}

// plainTar makes an uncompressed tar of regular files (name -> contents), in order.
func plainTar(t *testing.T, names []string, contents map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o600, Uid: 7, Gid: 8, Size: int64(len(contents[n])), ModTime: time.Unix(1, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(contents[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	if _, err := gz.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(s[:])
}

func TestWriteRead(t *testing.T) {
	epoch := time.Unix(1700000000, 0).UTC()
	plain := plainTar(t, []string{"etc/hosts", "etc/motd"}, map[string]string{"etc/hosts": "127.0.0.1 localhost\n", "etc/motd": "hi\n"})
	plainPath := writeTemp(t, "base.tar", plain)
	gzPath := writeTemp(t, "base.tar.gz", gzipped(t, plain))
	srcPath := writeTemp(t, "bin", []byte("#!/bin/sh\necho from disk\n"))

	cfg := Config{
		User:       "65532:65532",
		Entrypoint: []string{"/usr/local/bin/app"},
		Cmd:        []string{"--help"},
		Env:        []string{"PATH=/usr/bin:/bin", "A=b"},
		WorkingDir: "/var/lib/app",
		Labels:     map[string]string{"org.opencontainers.image.version": "dev"},
		Created:    epoch,
	}
	filesLayer := Layer{Comment: "binaries", Files: []File{
		{Name: "/usr/local/bin/app", Mode: 0o755, Data: []byte("app"), ModTime: epoch},
		{Name: "./usr/local/bin/tool", Mode: 0o750, UID: 65532, GID: 65532, Source: srcPath},
		{Name: "var/lib/app", Mode: fs.ModeDir | 0o750, UID: 65532, GID: 65532},
		{Name: "usr/bin/app", Mode: fs.ModeSymlink, Link: "../local/bin/app"},
		{Name: "etc/empty"},
	}}
	filesWant := map[string]entry{
		"usr/":               {tar.TypeDir, 0o755, 0, 0, ""},
		"usr/bin/":           {tar.TypeDir, 0o755, 0, 0, ""},
		"usr/bin/app":        {tar.TypeSymlink, 0o777, 0, 0, "../local/bin/app"},
		"usr/local/":         {tar.TypeDir, 0o755, 0, 0, ""},
		"usr/local/bin/":     {tar.TypeDir, 0o755, 0, 0, ""},
		"usr/local/bin/app":  {tar.TypeReg, 0o755, 0, 0, "app"},
		"usr/local/bin/tool": {tar.TypeReg, 0o750, 65532, 65532, "#!/bin/sh\necho from disk\n"},
		"var/":               {tar.TypeDir, 0o755, 0, 0, ""},
		"var/lib/":           {tar.TypeDir, 0o755, 0, 0, ""},
		"var/lib/app/":       {tar.TypeDir, 0o750, 65532, 65532, ""},
		"etc/":               {tar.TypeDir, 0o755, 0, 0, ""},
		"etc/empty":          {tar.TypeReg, 0o644, 0, 0, ""},
	}
	tarWant := map[string]entry{
		"etc/hosts": {tar.TypeReg, 0o600, 7, 8, "127.0.0.1 localhost\n"},
		"etc/motd":  {tar.TypeReg, 0o600, 7, 8, "hi\n"},
	}

	tests := []struct {
		name   string
		ref    string
		cfg    Config
		layers []Layer
		want   []map[string]entry
		// storedAsIs: layer index whose blob must be the input file byte for byte.
		storedAsIs map[int]string
	}{
		{name: "no layers", ref: "example.com/empty:1", cfg: Config{Cmd: []string{"true"}}},
		{name: "files", ref: "ghcr.io/lifeboat-backup/lifeboat:dev", cfg: cfg, layers: []Layer{filesLayer}, want: []map[string]entry{filesWant}},
		{name: "plain tar then files", ref: "localhost:5000/a/b:c", cfg: cfg,
			layers: []Layer{{Tar: plainPath}, filesLayer}, want: []map[string]entry{tarWant, filesWant}},
		{name: "gzip tar stored as is", ref: "registry.k8s.io/pause:3.10", cfg: cfg,
			layers: []Layer{{Tar: gzPath}}, want: []map[string]entry{tarWant}, storedAsIs: map[int]string{0: gzPath}},
		{name: "same layer twice", ref: "x/y:z", cfg: cfg,
			layers: []Layer{{Tar: plainPath}, {Tar: plainPath}}, want: []map[string]entry{tarWant, tarWant}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tc.ref, tc.cfg, tc.layers...); err != nil {
				t.Fatal(err)
			}
			archive := buf.Bytes()

			// The same input gives the same bytes.
			var again bytes.Buffer
			if err := Write(&again, tc.ref, tc.cfg, tc.layers...); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(archive, again.Bytes()) {
				t.Error("two writes of the same image differ")
			}

			checkByHand(t, archive, tc.ref, len(tc.layers), tc.storedAsIs)

			img, err := Read(bytes.NewReader(archive), int64(len(archive)))
			if err != nil {
				t.Fatal(err)
			}
			if img.Ref != tc.ref {
				t.Errorf("Ref = %q, want %q", img.Ref, tc.ref)
			}
			got := img.Config.Config
			want := tc.cfg
			if want.Architecture == "" {
				want.Architecture = img.Config.Architecture
			}
			if want.OS == "" {
				want.OS = "linux"
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("config round trip:\n got %+v\nwant %+v", got, want)
			}
			if len(img.Config.History) != len(tc.layers) {
				t.Errorf("history has %d entries for %d layers", len(img.Config.History), len(tc.layers))
			}
			for i, wantEntries := range tc.want {
				gotEntries := map[string]entry{}
				var order []string
				err := img.WalkLayer(i, func(hdr *tar.Header, r io.Reader) error {
					data, err := io.ReadAll(r)
					if err != nil {
						return err
					}
					if hdr.Typeflag == tar.TypeSymlink {
						data = []byte(hdr.Linkname)
					}
					gotEntries[hdr.Name] = entry{hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, string(data)}
					order = append(order, hdr.Name)
					// Files without a time get the epoch, not the clock.
					if tc.layers[i].Files != nil && !hdr.ModTime.Equal(epoch) && !hdr.ModTime.Equal(time.Unix(0, 0)) {
						t.Errorf("%s: mtime %v", hdr.Name, hdr.ModTime)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				if !reflect.DeepEqual(gotEntries, wantEntries) {
					t.Errorf("layer %d entries:\n got %v\nwant %v", i, gotEntries, wantEntries)
				}
				if tc.layers[i].Files != nil && !isSorted(order) {
					t.Errorf("layer %d entries not sorted: %v", i, order)
				}
			}
			if err := img.Verify(); err != nil {
				t.Error(err)
			}
		})
	}
}

func isSorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}

// checkByHand follows index.json -> manifest -> config -> layers with archive/tar and
// encoding/json only, so the writer is not checked by its own reader alone.
func checkByHand(t *testing.T, archive []byte, ref string, layers int, storedAsIs map[int]string) {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		data, _ := io.ReadAll(tr)
		files[hdr.Name] = data
	}
	if names[0] != "oci-layout" || names[len(names)-1] != "index.json" {
		t.Errorf("archive entries %v: want oci-layout first and index.json last", names)
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", files["oci-layout"])
	}
	blob := func(d Descriptor) []byte {
		t.Helper()
		data, ok := files["blobs/sha256/"+strings.TrimPrefix(d.Digest, "sha256:")]
		if !ok {
			t.Fatalf("blob %s missing", d.Digest)
		}
		if sha(data) != d.Digest || int64(len(data)) != d.Size {
			t.Fatalf("blob %s: digest %s size %d, descriptor size %d", d.Digest, sha(data), len(data), d.Size)
		}
		return data
	}
	var index Index
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if index.SchemaVersion != 2 || index.MediaType != MediaTypeIndex || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %s", files["index.json"])
	}
	top := index.Manifests[0]
	if top.MediaType != MediaTypeManifest || top.Annotations[AnnotationRefName] != ref || top.Annotations[AnnotationContainerdRef] != ref {
		t.Errorf("index entry %+v: want a manifest named %s in both annotations", top, ref)
	}
	var m Manifest
	if err := json.Unmarshal(blob(top), &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 2 || m.MediaType != MediaTypeManifest || m.Config.MediaType != MediaTypeConfig || len(m.Layers) != layers {
		t.Fatalf("manifest %+v", m)
	}
	var cf struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		RootFS       struct {
			Type    string   `json:"type"`
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(blob(m.Config), &cf); err != nil {
		t.Fatal(err)
	}
	if cf.Architecture == "" || cf.OS != "linux" || cf.RootFS.Type != "layers" || len(cf.RootFS.DiffIDs) != layers {
		t.Fatalf("config %+v", cf)
	}
	for i, l := range m.Layers {
		if l.MediaType != MediaTypeLayerGzip {
			t.Errorf("layer %d media type %s", i, l.MediaType)
		}
		data := blob(l)
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(gz)
		if err != nil {
			t.Fatal(err)
		}
		if sha(plain) != cf.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: diff_id %s, uncompressed digest %s", i, cf.RootFS.DiffIDs[i], sha(plain))
		}
		if p, ok := storedAsIs[i]; ok {
			in, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, data) {
				t.Errorf("layer %d is not %s byte for byte", i, p)
			}
		}
	}
}

func TestWriteErrors(t *testing.T) {
	notTar := writeTemp(t, "junk", bytes.Repeat([]byte("not a tar "), 100))
	tests := []struct {
		name   string
		ref    string
		layers []Layer
		want   string
	}{
		{"empty ref", "", nil, "empty image reference"},
		{"duplicate name", "a/b:c", []Layer{{Files: []File{{Name: "a"}, {Name: "/a"}}}}, "given twice"},
		{"file as parent", "a/b:c", []Layer{{Files: []File{{Name: "a"}, {Name: "a/b"}}}}, "not a directory"},
		{"root as a file", "a/b:c", []Layer{{Files: []File{{Name: "/"}}}}, "not a file name"},
		{"symlink without target", "a/b:c", []Layer{{Files: []File{{Name: "l", Mode: fs.ModeSymlink}}}}, "without a target"},
		{"missing source", "a/b:c", []Layer{{Files: []File{{Name: "f", Source: "/nonexistent/file"}}}}, "no such file"},
		{"not a tar", "a/b:c", []Layer{{Tar: notTar}}, "not a tar archive"},
		{"tar and files", "a/b:c", []Layer{{Tar: notTar, Files: []File{{Name: "x"}}}}, "both Tar and Files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(io.Discard, tc.ref, Config{}, tc.layers...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestReadDetectsDamage(t *testing.T) {
	var buf bytes.Buffer
	data := bytes.Repeat([]byte("lifeboat "), 4096)
	if err := Write(&buf, "a/b:c", Config{}, Layer{Files: []File{{Name: "f", Data: data}}}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	img, err := Read(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	name, _ := blobName(img.Manifest.Layers[0].Digest)
	layerOff := img.entries[name].off
	cfgName, _ := blobName(img.Manifest.Config.Digest)
	cfgOff := img.entries[cfgName].off

	damaged := func(off int64) []byte {
		b := bytes.Clone(good)
		b[off] ^= 0xff
		return b
	}
	// A flipped byte in the config fails Read; one inside the layer's deflate data fails
	// WalkLayer (gzip's own checksum, the digest or the diff_id catches it).
	if b := damaged(cfgOff + 2); !readFails(b) {
		t.Error("Read accepted a damaged config")
	}
	b := damaged(layerOff + img.Manifest.Layers[0].Size/2)
	img2, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := img2.Verify(); err == nil {
		t.Error("Verify accepted a damaged layer")
	}
	if !readFails(good[:len(good)/2]) {
		t.Error("Read accepted half an archive")
	}
}

func readFails(b []byte) bool {
	_, err := Read(bytes.NewReader(b), int64(len(b)))
	return err != nil
}

func TestFilesFromDir(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "bin"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "bin", "b"), []byte("b"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "bin", "a"), []byte("a"), 0o700))
	must(os.Symlink("b", filepath.Join(dir, "bin", "c")))
	files, err := FilesFromDir(dir, DirOptions{Prefix: "usr/local", UID: 0, GID: 0, FileMode: 0o755, ModTime: time.Unix(5, 0)})
	must(err)
	var buf bytes.Buffer
	must(Write(&buf, "a/b:c", Config{}, Layer{Files: files}))
	img, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	must(err)
	var got []string
	must(img.WalkLayer(0, func(hdr *tar.Header, r io.Reader) error {
		got = append(got, hdr.Name+" "+fs.FileMode(hdr.Mode).String()+" "+hdr.ModTime.UTC().Format(time.RFC3339))
		return nil
	}))
	want := []string{
		"usr/ -rwxr-xr-x 1970-01-01T00:00:05Z",
		"usr/local/ -rwxr-xr-x 1970-01-01T00:00:05Z",
		"usr/local/bin/ -rwx------ 1970-01-01T00:00:05Z",
		"usr/local/bin/a -rwxr-xr-x 1970-01-01T00:00:05Z",
		"usr/local/bin/b -rwxr-xr-x 1970-01-01T00:00:05Z",
		"usr/local/bin/c -rwxrwxrwx 1970-01-01T00:00:05Z",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries:\n got %q\nwant %q", got, want)
	}
}
