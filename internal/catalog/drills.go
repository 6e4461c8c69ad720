package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// A drill's outcome is a small object of its own in the backup's directory,
//
//	<source>/<backup-id>/drill-<yyyymmddThhmmssZ>-<rand4>-<ok|failed>.json
//
// and never a rewrite of the manifest: a committed backup is write-once (its manifest is
// signed by the pods that back up, which drills are not, and object lock may forbid the
// rewrite). The name alone says when and how the drill ended, so a listing learns every
// drill without reading one more object; the body holds the detail for people.
//
// Drill records are not signed: they say what a drill saw, they decide nothing. No
// restore, verify or retention decision reads them. Prune deletes them with the backup.

// DrillPrefix starts the name of every drill record in a backup directory.
const DrillPrefix = "drill-"

var drillNameRE = regexp.MustCompile(`^drill-([0-9]{8}T[0-9]{6}Z)-[0-9a-f]{4}-(ok|failed)\.json$`)

// DrillName is the object name of a drill record that ended at at.
func DrillName(at time.Time, ok bool) string {
	var b [2]byte
	_, _ = rand.Read(b[:]) // two drills ending in the same second keep apart
	outcome := "failed"
	if ok {
		outcome = "ok"
	}
	return DrillPrefix + at.UTC().Format(IDTimeLayout) + "-" + hex.EncodeToString(b[:]) + "-" + outcome + ".json"
}

// DrillKey is the key of a drill record of backup id of source.
func DrillKey(source, id string, at time.Time, ok bool) string {
	return BackupDir(source, id) + DrillName(at, ok)
}

// parseDrillName reads the time and outcome of a drill record from its object name.
func parseDrillName(name string) (DrillRecord, bool) {
	m := drillNameRE.FindStringSubmatch(name)
	if m == nil {
		return DrillRecord{}, false
	}
	at, err := time.Parse(IDTimeLayout, m[1])
	if err != nil {
		return DrillRecord{}, false
	}
	return DrillRecord{At: at, OK: m[2] == "ok"}, true
}

// DrillObject is the body of a drill record.
type DrillObject struct {
	BackupID string    `json:"backupID"`
	At       time.Time `json:"at"`
	OK       bool      `json:"ok"`
	Detail   string    `json:"detail,omitempty"`
}

// EncodeDrill is the body of a drill record.
func EncodeDrill(d DrillObject) ([]byte, error) {
	d.At = d.At.UTC()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode drill record: %w", err)
	}
	return append(b, '\n'), nil
}

// drillRecords are the drills of a backup: the records in its manifest (written before
// drills were objects of their own) and the drill objects in its directory, oldest first.
// This is the one place drill results are read: List puts them in Backup.Drills.
func drillRecords(m *Manifest, d *backupDir) []DrillRecord {
	out := slices.Clone(m.Drills)
	for _, o := range d.all {
		if r, ok := parseDrillName(strings.TrimPrefix(o.Key, BackupDir(m.Source.Name, m.ID))); ok {
			r.Key = o.Key
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b DrillRecord) int { return a.At.Compare(b.At) })
	return out
}

// LastPassingDrill is when the newest passing drill of b ended; zero when none passed.
func (b Backup) LastPassingDrill() time.Time {
	var t time.Time
	for _, d := range b.Drills {
		if d.OK && d.At.After(t) {
			t = d.At
		}
	}
	return t
}

// ReadDrill fills in the detail of a drill record listed from its name, reading its object
// from st (a record from an old manifest has it already). The body is small; more than
// maxDrillObject bytes is not a drill record lifeboat wrote.
func ReadDrill(ctx context.Context, st store.Store, r DrillRecord) (DrillRecord, error) {
	if r.Key == "" || r.Detail != "" {
		return r, nil
	}
	rc, err := st.Get(ctx, r.Key)
	if err != nil {
		return r, fmt.Errorf("read drill record %s: %w", r.Key, err)
	}
	defer rc.Close()
	var d DrillObject
	if err := json.NewDecoder(io.LimitReader(rc, maxDrillObject)).Decode(&d); err != nil {
		return r, fmt.Errorf("read drill record %s: %w", r.Key, err)
	}
	r.Detail = d.Detail
	return r, nil
}

const maxDrillObject = 1 << 20
