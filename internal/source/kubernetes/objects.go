package kubernetes

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// clusterDir is the namespace segment of a cluster-scoped object's path in the archive.
const clusterDir = "_cluster"

// coreDir is the group segment of the core ("") group.
const coreDir = "core"

// ArtifactExt is the data object's base extension.
const ArtifactExt = "k8s.tar"

// lastApplied is kubectl's copy of the whole object, Secrets' data included in clear.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// archiveTime is every entry's mtime: a fixed time keeps an unchanged cluster's archive
// byte-identical.
var archiveTime = time.Unix(0, 0).UTC()

// key identifies an object independently of its version.
type key struct {
	Group, Kind, Namespace, Name string
}

func keyOf(u *unstructured.Unstructured) key {
	gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
	return key{Group: gv.Group, Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
}

// Path is the object's file inside the archive: <group>/<kind>/<namespace>/<name>.yaml.
func (k key) Path() string {
	g, ns := k.Group, k.Namespace
	if g == "" {
		g = coreDir
	}
	if ns == "" {
		ns = clusterDir
	}
	return path.Join(g, k.Kind, ns, k.Name+".yaml")
}

func (k key) String() string {
	kind := k.Kind
	if k.Group != "" {
		kind += "." + k.Group
	}
	if k.Namespace == "" {
		return kind + "/" + k.Name
	}
	return kind + " " + k.Namespace + "/" + k.Name
}

// clean removes what the cluster sets itself, so that the object applies to any
// cluster and an unchanged object always serialises to the same bytes. inBackup tells
// whether an owner is part of the same backup; references to other owners are dropped
// (their uid would be wrong after a restore and the garbage collector would delete the
// object). Owner uids are dropped too: restore looks the owner's new uid up.
func clean(u *unstructured.Unstructured, inBackup func(key) bool) {
	obj := u.Object
	delete(obj, "status")
	for _, f := range []string{"uid", "resourceVersion", "managedFields", "creationTimestamp", "generation",
		"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		unstructured.RemoveNestedField(obj, "metadata", f)
	}
	if ann := u.GetAnnotations(); ann != nil {
		delete(ann, lastApplied)
		if len(ann) == 0 {
			unstructured.RemoveNestedField(obj, "metadata", "annotations")
		} else {
			u.SetAnnotations(ann)
		}
	}
	if refs := u.GetOwnerReferences(); len(refs) > 0 {
		var keep []any
		for _, r := range refs {
			gv, _ := schema.ParseGroupVersion(r.APIVersion)
			if !inBackup(key{Group: gv.Group, Kind: r.Kind, Namespace: u.GetNamespace(), Name: r.Name}) {
				continue
			}
			m := map[string]any{"apiVersion": r.APIVersion, "kind": r.Kind, "name": r.Name}
			if r.Controller != nil {
				m["controller"] = *r.Controller
			}
			if r.BlockOwnerDeletion != nil {
				m["blockOwnerDeletion"] = *r.BlockOwnerDeletion
			}
			keep = append(keep, m)
		}
		if len(keep) == 0 {
			unstructured.RemoveNestedField(obj, "metadata", "ownerReferences")
		} else {
			_ = unstructured.SetNestedSlice(obj, keep, "metadata", "ownerReferences")
		}
	}
	gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
	switch {
	case gv.Group == "" && u.GetKind() == "Service":
		// Assigned from the cluster's service range; another cluster assigns its own.
		// "None" (a headless Service) is a choice, not an assignment.
		if ip, _, _ := unstructured.NestedString(obj, "spec", "clusterIP"); ip != "None" {
			unstructured.RemoveNestedField(obj, "spec", "clusterIP")
			unstructured.RemoveNestedField(obj, "spec", "clusterIPs")
		}
	case gv.Group == "" && u.GetKind() == "Secret":
		// A service-account token is minted by the cluster for its own signing key.
		if t, _, _ := unstructured.NestedString(obj, "type"); t == "kubernetes.io/service-account-token" {
			delete(obj, "data")
			unstructured.RemoveNestedField(obj, "metadata", "annotations", "kubernetes.io/service-account.uid")
		}
	case gv.Group == "" && u.GetKind() == "Namespace":
		// spec.finalizers is set by the API server.
		delete(obj, "spec")
	}
	if md, ok := obj["metadata"].(map[string]any); ok && len(md) == 0 {
		delete(obj, "metadata")
	}
}

// encode is the object's YAML document: sigs.k8s.io/yaml goes through encoding/json,
// which sorts map keys, so equal objects give equal bytes.
func encode(u *unstructured.Unstructured) ([]byte, error) {
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", keyOf(u), err)
	}
	return data, nil
}

// writeArchive writes objs as a tar with sorted paths and fixed metadata.
func writeArchive(w io.Writer, objs []*unstructured.Unstructured) error {
	sorted := slices.Clone(objs)
	slices.SortFunc(sorted, func(a, b *unstructured.Unstructured) int {
		return strings.Compare(keyOf(a).Path(), keyOf(b).Path())
	})
	tw := tar.NewWriter(w)
	for _, u := range sorted {
		data, err := encode(u)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: keyOf(u).Path(), Mode: 0o600, Size: int64(len(data)),
			ModTime: archiveTime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// maxObjectSize bounds one archive entry read into memory: the API server stores objects
// of at most 1.5 MiB (etcd's default request limit), so a larger entry is not an object
// lifeboat wrote, and reading it whole could exhaust memory.
const maxObjectSize = 16 << 20

// readArchive reads an archive written by writeArchive and checks each entry: one
// object with apiVersion, kind and name, stored under its own path.
func readArchive(r io.Reader) ([]*unstructured.Unstructured, error) {
	tr := tar.NewReader(r)
	var objs []*unstructured.Unstructured
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a kubernetes backup archive (tar): %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("archive entry %s: not a regular file", hdr.Name)
		}
		if hdr.Size > maxObjectSize {
			return nil, fmt.Errorf("archive entry %s: %d bytes, more than any Kubernetes object (%d MiB): the archive is damaged or not lifeboat's", hdr.Name, hdr.Size, maxObjectSize>>20)
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, tr); err != nil {
			return nil, fmt.Errorf("archive entry %s: %w", hdr.Name, err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(buf.Bytes(), &u.Object); err != nil {
			return nil, fmt.Errorf("archive entry %s: not a YAML object: %w", hdr.Name, err)
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("archive entry %s: missing apiVersion, kind or metadata.name", hdr.Name)
		}
		if p := keyOf(u).Path(); p != hdr.Name {
			return nil, fmt.Errorf("archive entry %s holds %s, which belongs at %s", hdr.Name, keyOf(u), p)
		}
		objs = append(objs, u)
	}
	return objs, nil
}

// countObjects tallies objects per group, kind and namespace, sorted.
func countObjects(objs []*unstructured.Unstructured) []countRow {
	counts := map[key]int{}
	for _, u := range objs {
		k := keyOf(u)
		k.Name = ""
		counts[k]++
	}
	rows := make([]countRow, 0, len(counts))
	for k, n := range counts {
		rows = append(rows, countRow{key: k, n: n})
	}
	slices.SortFunc(rows, func(a, b countRow) int {
		return strings.Compare(a.key.Group+"\x00"+a.key.Kind+"\x00"+a.key.Namespace,
			b.key.Group+"\x00"+b.key.Kind+"\x00"+b.key.Namespace)
	})
	return rows
}

type countRow struct {
	key key
	n   int
}

// ArchiveNames lists the paths in an archive, in order, without reading the objects.
func ArchiveNames(r io.Reader) ([]string, error) {
	tr := tar.NewReader(r)
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not a kubernetes backup archive (tar): %w", err)
		}
		names = append(names, hdr.Name)
	}
}
