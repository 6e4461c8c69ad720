package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// backupDir is what one listing shows of one <source>/<id>/ directory.
type backupDir struct {
	id       string
	manifest *store.ObjectInfo
	data     []store.ObjectInfo // objects named data.*
	drills   []store.ObjectInfo // drill records (drills.go)
	all      []store.ObjectInfo // every object in the directory, manifest included
}

// listDirs groups one listing of <source>/ into backup directories, in key order (which
// is oldest first for ids made by NewBackupID). Objects deeper or shallower than
// <source>/<id>/<name> are not ours and are left out.
func listDirs(ctx context.Context, st store.Store, source string) ([]*backupDir, error) {
	if err := ValidName(source); err != nil {
		return nil, fmt.Errorf("list backups: source %w", err)
	}
	objs, err := st.List(ctx, source+"/")
	if err != nil {
		return nil, fmt.Errorf("list backups of source %q in %s: %w", source, st, err)
	}
	var dirs []*backupDir
	byID := map[string]*backupDir{}
	for _, o := range objs {
		id, name, ok := strings.Cut(strings.TrimPrefix(o.Key, source+"/"), "/")
		if !ok || id == "" || name == "" || strings.Contains(name, "/") {
			continue
		}
		d := byID[id]
		if d == nil {
			d = &backupDir{id: id}
			byID[id] = d
			dirs = append(dirs, d)
		}
		d.all = append(d.all, o)
		switch {
		case name == ManifestName:
			m := o
			d.manifest = &m
		case strings.HasPrefix(name, DataPrefix):
			d.data = append(d.data, o)
		case drillNameRE.MatchString(name):
			d.drills = append(d.drills, o)
		}
	}
	return dirs, nil
}

// check confirms that a decoded manifest belongs in this directory and that its data
// object is there, whole.
func (d *backupDir) check(source string, m *Manifest) error {
	if m.ID != d.id || m.Source.Name != source {
		return fmt.Errorf("%w: it describes backup %q of source %q, but is stored under %s",
			ErrInvalidManifest, m.ID, m.Source.Name, BackupDir(source, d.id))
	}
	for _, o := range d.data {
		if o.Key != m.DataObjectKey() {
			continue
		}
		if o.Size != m.Size {
			return fmt.Errorf("%w: data object %s is %d bytes but the manifest records %d: "+
				"it was truncated or replaced", ErrInvalidManifest, o.Key, o.Size, m.Size)
		}
		return nil
	}
	return fmt.Errorf("%w: data object %s is missing", ErrInvalidManifest, m.DataObjectKey())
}
