// Command mkimage writes an OCI image archive (internal/ociimage) from layers and a
// config, without a container engine. scripts/build-image.sh runs it to build the lifeboat
// image:
//
//	go run ./internal/tools/mkimage --out bin/lifeboat-image.tar \
//	  --ref ghcr.io/lifeboat-backup/lifeboat:dev \
//	  --layer .tools/image-cache/rootfs-KEY.tar.gz --layer bin/image-layer \
//	  --user 65532:65532 --workdir /var/lib/lifeboat \
//	  --entrypoint '["/usr/local/bin/lifeboat"]' --cmd '["--help"]' \
//	  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
//
// A --layer is a tar file (plain or gzip; a gzip one is stored as it is) or a directory,
// whose tree becomes the layer in name order, owned by --dir-owner (default 0:0), with
// the permission bits on disk. --entrypoint and --cmd take a JSON array (Dockerfile exec
// form) or one plain word. SOURCE_DATE_EPOCH, when set, is the config's creation time and
// the time of every entry of a directory layer, so the same input gives the same archive.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/ociimage"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// words parses an --entrypoint/--cmd value: a JSON array of strings, or one word.
func words(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	if !strings.HasPrefix(strings.TrimSpace(v), "[") {
		return []string{v}, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("%q: want a JSON array of strings: %w", v, err)
	}
	return out, nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	flags := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	var layers, env, labels listFlag
	out := flags.String("out", "", "the OCI image archive to write (required)")
	ref := flags.String("ref", "", "the image's full reference, e.g. ghcr.io/lifeboat-backup/lifeboat:dev (required)")
	flags.Var(&layers, "layer", "a layer, bottom first: a tar file (plain or gzip) or a directory (repeatable)")
	user := flags.String("user", "", "the user the container runs as (uid:gid)")
	entrypoint := flags.String("entrypoint", "", `the entrypoint: a JSON array, e.g. '["/usr/local/bin/lifeboat"]'`)
	cmd := flags.String("cmd", "", `the default arguments: a JSON array, e.g. '["--help"]'`)
	flags.Var(&env, "env", "an environment variable NAME=value (repeatable)")
	flags.Var(&labels, "label", "a label key=value (repeatable)")
	workdir := flags.String("workdir", "", "the working directory")
	arch := flags.String("arch", "", "the image's architecture (default: this machine's)")
	dirOwner := flags.String("dir-owner", "0:0", "uid:gid that owns every entry of a directory layer")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	if *out == "" || *ref == "" {
		return errors.New("--out and --ref are required")
	}
	cfg := ociimage.Config{User: *user, WorkingDir: *workdir, Env: env, Architecture: *arch}
	var err error
	if cfg.Entrypoint, err = words(*entrypoint); err != nil {
		return fmt.Errorf("--entrypoint %w", err)
	}
	if cfg.Cmd, err = words(*cmd); err != nil {
		return fmt.Errorf("--cmd %w", err)
	}
	for _, e := range env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("--env %q: want NAME=value", e)
		}
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return fmt.Errorf("--label %q: want key=value", l)
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels[k] = v
	}
	when := time.Now().UTC().Truncate(time.Second)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		when = time.Unix(sec, 0).UTC()
	}
	cfg.Created = when
	uidS, gidS, ok := strings.Cut(*dirOwner, ":")
	uid, err1 := strconv.Atoi(uidS)
	gid, err2 := strconv.Atoi(gidS)
	if !ok || err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return fmt.Errorf("--dir-owner %q: want uid:gid", *dirOwner)
	}

	var ls []ociimage.Layer
	for _, l := range layers {
		st, err := os.Stat(l)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			ls = append(ls, ociimage.Layer{Tar: l, Comment: filepath.Base(l)})
			continue
		}
		files, err := ociimage.FilesFromDir(l, ociimage.DirOptions{UID: uid, GID: gid, ModTime: when})
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("--layer %s: empty directory", l)
		}
		// The comment names the layer's files, not the (often temporary) directory.
		var names []string
		for _, f := range files {
			if f.Mode.IsRegular() {
				names = append(names, "/"+f.Name)
			}
		}
		ls = append(ls, ociimage.Layer{Files: files, Comment: strings.Join(names, " ")})
	}

	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	tmp := *out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := ociimage.Write(f, *ref, cfg, ls...); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}

	img, err := ociimage.Open(*out)
	if err != nil {
		return err
	}
	defer img.Close()
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s (%.1f MiB): %s, manifest %s\n", *out, float64(st.Size())/(1<<20), img.Ref, img.ManifestDigest)
	for i, l := range img.Manifest.Layers {
		fmt.Printf("  layer %d: %s %.1f MiB\n", i+1, l.Digest, float64(l.Size)/(1<<20))
	}
	return nil
}
