package ociimage

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxJSON bounds the index, manifest and config blobs Read loads into memory.
const maxJSON = 4 << 20

// Image is an image read from an OCI image-layout tar archive.
type Image struct {
	// Ref is the image's name: the index's io.containerd.image.name annotation, else its
	// org.opencontainers.image.ref.name (which other writers often set to the tag only).
	Ref string
	// Index is index.json; ManifestDigest is the digest of the image's manifest.
	Index          Index
	ManifestDigest string
	Manifest       Manifest
	// Config is the decoded config blob.
	Config ConfigFile

	r       io.ReaderAt
	entries map[string]section
	closer  io.Closer
}

type section struct{ off, size int64 }

// Open reads the archive at name with Read; Close the Image when done.
func Open(name string) (*Image, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	img, err := Read(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	img.closer = f
	return img, nil
}

// Close closes the file Open opened; for an Image from Read it does nothing.
func (img *Image) Close() error {
	if img.closer == nil {
		return nil
	}
	return img.closer.Close()
}

// Read reads the OCI image-layout tar archive in r (size bytes) holding one image: it
// finds the entries, and loads and checks index.json, the manifest and the config (media
// types, sizes, digests, one diff_id per layer). Layers are read by WalkLayer.
func Read(r io.ReaderAt, size int64) (*Image, error) {
	img := &Image{r: r, entries: map[string]section{}}
	sr := io.NewSectionReader(r, 0, size)
	// tar.Reader reads its input without buffering ahead, so after Next the section's
	// position is where the entry's data starts.
	tr := tar.NewReader(sr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the archive: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		off, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		img.entries[cleanName(hdr.Name)] = section{off, hdr.Size}
	}
	if _, ok := img.entries["oci-layout"]; !ok {
		return nil, errors.New("no oci-layout file: not an OCI image layout")
	}
	data, err := img.file("index.json", maxJSON)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &img.Index); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	if img.Index.SchemaVersion != 2 {
		return nil, fmt.Errorf("index.json: schemaVersion %d, want 2", img.Index.SchemaVersion)
	}
	if len(img.Index.Manifests) != 1 {
		return nil, fmt.Errorf("index.json lists %d manifests; want one image", len(img.Index.Manifests))
	}
	top := img.Index.Manifests[0]
	if top.MediaType != MediaTypeManifest {
		return nil, fmt.Errorf("index.json points at a %s, want an image manifest (%s)", top.MediaType, MediaTypeManifest)
	}
	img.Ref = top.Annotations[AnnotationContainerdRef]
	if img.Ref == "" {
		img.Ref = top.Annotations[AnnotationRefName]
	}
	img.ManifestDigest = top.Digest
	if data, err = img.blob(top, maxJSON); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &img.Manifest); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m := img.Manifest
	if m.SchemaVersion != 2 || (m.MediaType != "" && m.MediaType != MediaTypeManifest) {
		return nil, fmt.Errorf("manifest: schemaVersion %d, mediaType %q", m.SchemaVersion, m.MediaType)
	}
	if m.Config.MediaType != MediaTypeConfig {
		return nil, fmt.Errorf("manifest: config media type %q, want %s", m.Config.MediaType, MediaTypeConfig)
	}
	if data, err = img.blob(m.Config, maxJSON); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &img.Config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	img.Config.Config.Architecture, img.Config.Config.OS = img.Config.Architecture, img.Config.OS
	if img.Config.Created != nil {
		img.Config.Config.Created = *img.Config.Created
	}
	if len(img.Config.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("config lists %d diff_ids for %d layers", len(img.Config.RootFS.DiffIDs), len(m.Layers))
	}
	for i, l := range m.Layers {
		if l.MediaType != MediaTypeLayerGzip && l.MediaType != MediaTypeLayer {
			return nil, fmt.Errorf("layer %d: media type %q", i+1, l.MediaType)
		}
		if _, err := img.section(l); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	return img, nil
}

// file reads the archive entry name, at most limit bytes.
func (img *Image) file(name string, limit int64) ([]byte, error) {
	s, ok := img.entries[name]
	if !ok {
		return nil, fmt.Errorf("no %s in the archive", name)
	}
	if s.size > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", name, s.size, limit)
	}
	buf := make([]byte, s.size)
	if n, err := img.r.ReadAt(buf, s.off); n < len(buf) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return buf, nil
}

func blobName(digest string) (string, error) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return "", fmt.Errorf("digest %q: want sha256:<64 hex digits>", digest)
	}
	return "blobs/sha256/" + hexPart, nil
}

// section finds d's blob and checks its size.
func (img *Image) section(d Descriptor) (section, error) {
	name, err := blobName(d.Digest)
	if err != nil {
		return section{}, err
	}
	s, ok := img.entries[name]
	if !ok {
		return section{}, fmt.Errorf("blob %s missing", d.Digest)
	}
	if s.size != d.Size {
		return section{}, fmt.Errorf("blob %s: %d bytes, the descriptor says %d", d.Digest, s.size, d.Size)
	}
	return s, nil
}

// blob reads d's blob (at most limit bytes) and checks its digest.
func (img *Image) blob(d Descriptor, limit int64) ([]byte, error) {
	name, err := blobName(d.Digest)
	if err != nil {
		return nil, err
	}
	if _, err := img.section(d); err != nil {
		return nil, err
	}
	data, err := img.file(name, limit)
	if err != nil {
		return nil, err
	}
	if got := memBlob("", data).desc.Digest; got != d.Digest {
		return nil, fmt.Errorf("blob %s: content has digest %s", d.Digest, got)
	}
	return data, nil
}

// WalkLayer calls fn for each entry of layer i (0 is the bottom layer) with the entry's
// contents, then checks the layer blob's digest and the uncompressed tar's diff_id. fn
// may return fs.SkipAll to stop early (the checks are then skipped); any other error
// stops the walk and is returned.
func (img *Image) WalkLayer(i int, fn func(hdr *tar.Header, r io.Reader) error) error {
	if i < 0 || i >= len(img.Manifest.Layers) {
		return fmt.Errorf("layer %d: the image has %d layers", i, len(img.Manifest.Layers))
	}
	d := img.Manifest.Layers[i]
	s, err := img.section(d)
	if err != nil {
		return err
	}
	digest, diffID := sha256.New(), sha256.New()
	raw := io.TeeReader(bufio.NewReaderSize(io.NewSectionReader(img.r, s.off, s.size), 1<<20), digest)
	var plain io.Reader = raw
	if d.MediaType == MediaTypeLayerGzip {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		plain = gz
	}
	plain = io.TeeReader(plain, diffID)
	tr := tar.NewReader(plain)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		if fn != nil {
			if err := fn(hdr, tr); err == fs.SkipAll {
				return nil
			} else if err != nil {
				return err
			}
		}
	}
	if _, err := io.Copy(io.Discard, plain); err != nil {
		return fmt.Errorf("layer %d: %w", i+1, err)
	}
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return fmt.Errorf("layer %d: %w", i+1, err)
	}
	if got := digestOf(digest); got != d.Digest {
		return fmt.Errorf("layer %d: blob has digest %s, the manifest says %s", i+1, got, d.Digest)
	}
	if got, want := digestOf(diffID), img.Config.RootFS.DiffIDs[i]; got != want {
		return fmt.Errorf("layer %d: uncompressed tar has digest %s, the config's diff_id is %s", i+1, got, want)
	}
	return nil
}

// Verify reads every layer to check its digest and diff_id.
func (img *Image) Verify() error {
	for i := range img.Manifest.Layers {
		if err := img.WalkLayer(i, nil); err != nil {
			return err
		}
	}
	return nil
}
