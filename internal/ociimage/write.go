package ociimage

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// blob is one blob of the archive: in memory (data) or in a file (path).
type blob struct {
	desc Descriptor
	data []byte
	path string
}

// Write writes the image ref, a full reference such as "ghcr.io/lifeboat-backup/lifeboat:dev",
// made of cfg and layers (bottom layer first), to w as an OCI image-layout tar archive.
// Layers are gzip-compressed into temporary files first, because their digests name them.
func Write(w io.Writer, ref string, cfg Config, layers ...Layer) error {
	if ref == "" {
		return errors.New("ociimage: empty image reference")
	}
	tmp, err := os.MkdirTemp("", "ociimage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if cfg.Architecture == "" {
		cfg.Architecture = runtime.GOARCH
	}
	if cfg.OS == "" {
		cfg.OS = "linux"
	}
	var created *time.Time
	if !cfg.Created.IsZero() {
		t := cfg.Created.UTC().Truncate(time.Second)
		created = &t
	}
	cf := ConfigFile{
		Created:      created,
		Architecture: cfg.Architecture,
		OS:           cfg.OS,
		Config:       cfg,
		RootFS:       RootFS{Type: "layers", DiffIDs: []string{}},
	}
	var blobs []blob
	var layerDescs []Descriptor
	for i, l := range layers {
		b, diffID, err := prepareLayer(tmp, i, l)
		if err != nil {
			return fmt.Errorf("ociimage: layer %d: %w", i+1, err)
		}
		blobs = append(blobs, b)
		layerDescs = append(layerDescs, b.desc)
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, diffID)
		cf.History = append(cf.History, History{Created: created, CreatedBy: "ociimage", Comment: l.Comment})
	}

	configJSON, err := json.Marshal(cf)
	if err != nil {
		return err
	}
	configBlob := memBlob(MediaTypeConfig, configJSON)
	manifestJSON, err := json.Marshal(Manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		Config:        configBlob.desc,
		Layers:        append([]Descriptor{}, layerDescs...),
	})
	if err != nil {
		return err
	}
	manifestBlob := memBlob(MediaTypeManifest, manifestJSON)
	blobs = append(blobs, configBlob, manifestBlob)

	top := manifestBlob.desc
	top.Annotations = map[string]string{AnnotationRefName: ref, AnnotationContainerdRef: ref}
	top.Platform = &Platform{Architecture: cfg.Architecture, OS: cfg.OS}
	indexJSON, err := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []Descriptor{top}})
	if err != nil {
		return err
	}

	mtime := time.Unix(0, 0)
	if created != nil {
		mtime = *created
	}
	tw := tar.NewWriter(w)
	if err := writeMem(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`), mtime); err != nil {
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime}); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, b := range blobs {
		if seen[b.desc.Digest] {
			continue // the same layer twice is stored once
		}
		seen[b.desc.Digest] = true
		name := "blobs/sha256/" + strings.TrimPrefix(b.desc.Digest, "sha256:")
		if b.data != nil {
			err = writeMem(tw, name, b.data, mtime)
		} else {
			err = writeFromFile(tw, name, b.path, b.desc.Size, mtime)
		}
		if err != nil {
			return err
		}
	}
	if err := writeMem(tw, "index.json", indexJSON, mtime); err != nil {
		return err
	}
	return tw.Close()
}

func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

func memBlob(mediaType string, data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{
		desc: Descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))},
		data: data,
	}
}

func writeMem(tw *tar.Writer, name string, data []byte, mtime time.Time) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func writeFromFile(tw *tar.Writer, name, file string, size int64, mtime time.Time) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: mtime}); err != nil {
		return err
	}
	_, err = io.CopyN(tw, f, size)
	return err
}

// countWriter counts what passes through it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// prepareLayer makes layer i's gzip blob (in tmp, unless the layer is a gzip tar already)
// and returns it with the layer's diff_id, checking that the layer is a tar.
func prepareLayer(tmp string, i int, l Layer) (blob, string, error) {
	switch {
	case l.Tar != "" && l.Files != nil:
		return blob{}, "", errors.New("both Tar and Files set")
	case l.Tar != "":
		f, err := os.Open(l.Tar)
		if err != nil {
			return blob{}, "", err
		}
		defer f.Close()
		br := bufio.NewReaderSize(f, 1<<20)
		magic, _ := br.Peek(2)
		if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			return gzipTarLayer(l.Tar, br)
		}
		return compressLayer(tmp, i, func(w io.Writer) error {
			// Check it is a tar while copying it as it is.
			tee := io.TeeReader(br, w)
			if err := checkTar(tee); err != nil {
				return fmt.Errorf("%s: %w", l.Tar, err)
			}
			_, err := io.Copy(io.Discard, tee)
			return err
		})
	default:
		return compressLayer(tmp, i, func(w io.Writer) error {
			tw := tar.NewWriter(w)
			if err := writeFiles(tw, l.Files); err != nil {
				return err
			}
			return tw.Close()
		})
	}
}

// compressLayer gzips what fill writes (the uncompressed layer tar) into a temporary file.
func compressLayer(tmp string, i int, fill func(io.Writer) error) (blob, string, error) {
	p := filepath.Join(tmp, fmt.Sprintf("layer-%d.tar.gz", i))
	f, err := os.Create(p)
	if err != nil {
		return blob{}, "", err
	}
	defer f.Close()
	digest, diffID := sha256.New(), sha256.New()
	var n countWriter
	bw := bufio.NewWriterSize(io.MultiWriter(f, digest, &n), 1<<20)
	gz, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err != nil {
		return blob{}, "", err
	}
	if err := fill(io.MultiWriter(gz, diffID)); err != nil {
		return blob{}, "", err
	}
	if err := gz.Close(); err != nil {
		return blob{}, "", err
	}
	if err := bw.Flush(); err != nil {
		return blob{}, "", err
	}
	if err := f.Close(); err != nil {
		return blob{}, "", err
	}
	return blob{desc: Descriptor{MediaType: MediaTypeLayerGzip, Digest: digestOf(digest), Size: n.n}, path: p}, digestOf(diffID), nil
}

// gzipTarLayer uses the gzip tar file p (read through r) as the blob, computing its
// digest and its diff_id and checking that it holds a tar.
func gzipTarLayer(p string, r io.Reader) (blob, string, error) {
	digest, diffID := sha256.New(), sha256.New()
	var n countWriter
	raw := io.TeeReader(r, io.MultiWriter(digest, &n))
	gz, err := gzip.NewReader(raw)
	if err != nil {
		return blob{}, "", fmt.Errorf("%s: %w", p, err)
	}
	plain := io.TeeReader(gz, diffID)
	if err := checkTar(plain); err != nil {
		return blob{}, "", fmt.Errorf("%s: %w", p, err)
	}
	if _, err := io.Copy(io.Discard, plain); err != nil { // the tar's end padding
		return blob{}, "", fmt.Errorf("%s: %w", p, err)
	}
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return blob{}, "", err
	}
	return blob{desc: Descriptor{MediaType: MediaTypeLayerGzip, Digest: digestOf(digest), Size: n.n}, path: p}, digestOf(diffID), nil
}

// checkTar reads r as a tar archive to its end-of-archive marker.
func checkTar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		_, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not a tar archive: %w", err)
		}
	}
}

// tarMode is the tar header mode of an fs.FileMode's permission and special bits.
func tarMode(m fs.FileMode, def fs.FileMode) int64 {
	if m.Perm() == 0 && m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) == 0 {
		m |= def
	}
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

func modTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0)
	}
	return t.Truncate(time.Second)
}

// writeFiles writes files sorted by name, adding missing parent directories.
func writeFiles(tw *tar.Writer, files []File) error {
	byName := map[string]File{}
	var given []string
	for _, f := range files {
		name := cleanName(f.Name)
		if name == "" {
			return fmt.Errorf("entry %q: not a file name", f.Name)
		}
		if _, dup := byName[name]; dup {
			return fmt.Errorf("entry %q given twice", name)
		}
		f.Name = name
		byName[name] = f
		given = append(given, name)
	}
	// A missing parent takes the time of the first entry (in the order given) below it.
	for _, name := range given {
		f := byName[name]
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if p, ok := byName[dir]; ok {
				if !p.Mode.IsDir() {
					return fmt.Errorf("entry %q: parent %q is not a directory", name, dir)
				}
				continue
			}
			byName[dir] = File{Name: dir, Mode: fs.ModeDir | 0o755, ModTime: f.ModTime}
		}
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writeFile(tw, byName[name]); err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
	}
	return nil
}

func writeFile(tw *tar.Writer, f File) error {
	hdr := &tar.Header{Name: f.Name, Uid: f.UID, Gid: f.GID, ModTime: modTime(f.ModTime)}
	switch {
	case f.Mode.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, f.Name+"/", tarMode(f.Mode, 0o755)
		return tw.WriteHeader(hdr)
	case f.Mode&fs.ModeSymlink != 0:
		if f.Link == "" {
			return errors.New("symbolic link without a target")
		}
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, f.Link, 0o777
		return tw.WriteHeader(hdr)
	case f.Mode.IsRegular():
	default:
		return fmt.Errorf("unsupported mode %v", f.Mode)
	}
	hdr.Typeflag, hdr.Mode = tar.TypeReg, tarMode(f.Mode, 0o644)
	if f.Source == "" {
		hdr.Size = int64(len(f.Data))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.Data)
		return err
	}
	if f.Data != nil {
		return errors.New("both Data and Source set")
	}
	src, err := os.Open(f.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", f.Source)
	}
	hdr.Size = st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, src, hdr.Size); err != nil {
		return fmt.Errorf("%s: %w (did it change while being read?)", f.Source, err)
	}
	return nil
}

// DirOptions says how FilesFromDir records a directory's entries.
type DirOptions struct {
	// Prefix is where the directory's contents go in the image ("" is the root).
	Prefix string
	// UID and GID own every entry.
	UID, GID int
	// FileMode and DirMode replace the permission bits of regular files and directories;
	// 0 keeps the bits on disk.
	FileMode, DirMode fs.FileMode
	// ModTime is every entry's time (zero: the Unix epoch), so the layer does not depend
	// on when the files were made.
	ModTime time.Time
}

// FilesFromDir lists the tree under dir (not dir itself) as File entries streamed from
// disk: regular files, directories and symbolic links, anything else is an error.
func FilesFromDir(dir string, opt DirOptions) ([]File, error) {
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := File{
			Name:    path.Join(opt.Prefix, filepath.ToSlash(rel)),
			Mode:    info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
			UID:     opt.UID,
			GID:     opt.GID,
			ModTime: opt.ModTime,
		}
		switch t := info.Mode().Type(); {
		case t == 0:
			if opt.FileMode != 0 {
				f.Mode = opt.FileMode
			}
			f.Source = p
		case t == fs.ModeDir:
			if opt.DirMode != 0 {
				f.Mode = opt.DirMode
			}
			f.Mode |= fs.ModeDir
		case t == fs.ModeSymlink:
			f.Mode = fs.ModeSymlink | 0o777
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unsupported file type %v", p, t)
		}
		files = append(files, f)
		return nil
	})
	return files, err
}
