// Package ociimage writes a container image as an OCI image-layout tar archive (what
// `skopeo copy oci-archive:...`, `ctr images import` and `podman load` read), and reads one
// back, using only the standard library. It does one job and needs no container engine:
// `make image` (scripts/build-image.sh, through internal/tools/mkimage) builds the lifeboat
// image with it, and tests build small images with it.
//
// An image is a Config and layers. A Layer is either in-memory File entries (a file's
// contents given as bytes or as a path to stream from) or an existing tar file (plain or
// gzip-compressed; a compressed one is stored as it is):
//
//	var buf bytes.Buffer
//	err := ociimage.Write(&buf, "registry.example/pause:1",
//		ociimage.Config{Entrypoint: []string{"/pause"}, User: "65535:65535"},
//		ociimage.Layer{Files: []ociimage.File{{Name: "pause", Mode: 0o755, Source: "/path/to/pause"}}},
//	)
//
// FilesFromDir turns a directory into File entries with the owner and times you choose.
//
// The archive holds oci-layout, index.json and blobs/sha256/<hex>: gzip layers, the image
// config (its rootfs.diff_ids are the uncompressed layers' digests) and the manifest. The
// index names the image with the full reference in both
// org.opencontainers.image.ref.name and io.containerd.image.name, so `ctr images import`
// lists it under that name. The same input gives the same bytes: entries are sorted,
// gzip headers carry no name or time, and times come only from what the caller gives.
//
// Read opens such an archive (from any writer, one image per archive), checks the index,
// manifest and config against their digests and returns the Image; Image.WalkLayer
// streams a layer's entries and checks the layer's digest and diff_id.
package ociimage

import (
	"io/fs"
	"path"
	"strings"
	"time"
)

// Media types and annotations this package writes and accepts.
const (
	MediaTypeIndex     = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest  = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig    = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	// MediaTypeLayer is an uncompressed layer; Read accepts it, Write never writes it.
	MediaTypeLayer = "application/vnd.oci.image.layer.v1.tar"

	AnnotationRefName       = "org.opencontainers.image.ref.name"
	AnnotationContainerdRef = "io.containerd.image.name"
)

// Config is what a container started from the image runs, as in a Dockerfile's USER,
// ENTRYPOINT, CMD, ENV, WORKDIR and LABEL, plus the platform and creation time.
type Config struct {
	User       string            `json:"User,omitempty"`
	Entrypoint []string          `json:"Entrypoint,omitempty"`
	Cmd        []string          `json:"Cmd,omitempty"`
	Env        []string          `json:"Env,omitempty"`
	WorkingDir string            `json:"WorkingDir,omitempty"`
	Labels     map[string]string `json:"Labels,omitempty"`

	// Architecture and OS of the image's binaries; empty means runtime.GOARCH and "linux".
	Architecture string `json:"-"`
	OS           string `json:"-"`
	// Created is the config's creation time; zero leaves it out (and keeps the output
	// independent of the clock).
	Created time.Time `json:"-"`
}

// ConfigFile is the image config blob (OCI image-spec config.md).
type ConfigFile struct {
	Created      *time.Time `json:"created,omitempty"`
	Architecture string     `json:"architecture"`
	OS           string     `json:"os"`
	Config       Config     `json:"config"`
	RootFS       RootFS     `json:"rootfs"`
	History      []History  `json:"history,omitempty"`
}

// RootFS lists the layers' diff_ids: the sha256 of each uncompressed layer tar.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// History is one config history entry; Write adds one per layer.
type History struct {
	Created   *time.Time `json:"created,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
	Comment   string     `json:"comment,omitempty"`
}

// Descriptor points at a blob (OCI image-spec descriptor.md).
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Platform is a descriptor's platform.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Manifest is an image manifest.
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// Index is index.json.
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Manifests     []Descriptor `json:"manifests"`
}

// File is one entry of an in-memory layer.
type File struct {
	// Name is the path inside the image, slash-separated and relative to the root:
	// "usr/local/bin/lifeboat". A leading "/" or "./" is dropped.
	Name string
	// Mode holds the permission bits, plus fs.ModeDir for a directory or fs.ModeSymlink
	// for a symbolic link. 0 means 0644 for a file and 0755 for a directory.
	Mode fs.FileMode
	// UID and GID own the entry (numeric only; the tar carries no user names).
	UID, GID int
	// ModTime is the entry's time, truncated to seconds; zero means the Unix epoch.
	ModTime time.Time
	// A regular file's contents: Data, or the file at Source streamed when written.
	Data   []byte
	Source string
	// Link is a symbolic link's target.
	Link string
}

// Layer is one image layer: either Files, or Tar, the path of a tar file (plain or gzip).
// Files are written sorted by name, parent directories that are not listed are added
// (root-owned, 0755, the child's time), and a name given twice is an error.
type Layer struct {
	Files []File
	Tar   string
	// Comment goes into the config's history entry for this layer.
	Comment string
}

// cleanName normalises an entry name to the slash-separated relative form inside the root
// ("" is the root itself; ".." cannot climb above it).
func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}
