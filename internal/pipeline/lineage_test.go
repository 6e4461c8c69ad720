package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
)

// A run compares its backup with what the destinations hold before the manifest is
// written: a new cluster id or a collapsed snapshot is stored, marked and warned about,
// the status stays ok, and keepLast cannot push the earlier backups out.
func TestRunMarksNewLineageAndShrink(t *testing.T) {
	clk := clocktest.New(t0)
	a, b := newFileStore(t), newFileStore(t)
	dests := []Destination{
		{Name: "a", Store: a, Retention: catalog.Policy{KeepLast: 1}},
		{Name: "b", Store: b, Retention: catalog.Policy{KeepLast: 1}},
	}
	p := &Pipeline{Clock: clk, Shrink: 0.5}
	backup := func(cluster string, stateBytes int64, accept bool) *Result {
		t.Helper()
		clk.Advance(time.Hour)
		src := vaultSource([]byte("snapshot"))
		src.Record = func(m *catalog.Manifest) {
			m.Vault = &catalog.VaultInfo{ClusterID: cluster, SnapshotSize: stateBytes}
			m.Lineage = cluster
		}
		p.AcceptShrink = accept
		res := p.Run(context.Background(), src, dests)
		if res.Status() != StatusOK {
			t.Fatalf("status %s: %v", res.Status(), res.Error())
		}
		return res
	}
	count := func() int {
		t.Helper()
		backups, _, err := catalog.List(context.Background(), a, "vault")
		if err != nil {
			t.Fatal(err)
		}
		return len(backups)
	}

	if res := backup("c1", 1000, false); res.Suspicious() {
		t.Fatalf("first backup warned: %q", res.Warnings)
	}
	if res := backup("c1", 900, false); res.Suspicious() {
		t.Fatalf("a small change warned: %q", res.Warnings)
	}
	res := backup("c2", 10, false)
	if !res.Suspicious() || !strings.Contains(res.Warnings[0], "new lineage c2") || !res.Manifest.NewLineage || res.Manifest.PreviousLineage != "c1" {
		t.Fatalf("re-initialised cluster: warnings %q, manifest %+v", res.Warnings, res.Manifest)
	}
	if res.Manifest.Suspicious != "" {
		t.Errorf("a new lineage is not compared by size: %q", res.Manifest.Suspicious)
	}
	// The manifest as stored carries the mark.
	got, err := catalog.Latest(context.Background(), b, "vault")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Manifest.NewLineage {
		t.Errorf("stored manifest lacks newLineage: %+v", got.Manifest)
	}
	if n := count(); n != 2 {
		t.Errorf("keepLast 1 after a re-initialisation kept %d backups, want the old cluster's newest and the new one", n)
	}
	backup("c2", 1000, false)
	res = backup("c2", 100, false)
	if !strings.Contains(res.Manifest.Suspicious, "raft state bytes 100 is below 50% of the 1000") || len(res.Warnings) != 1 {
		t.Fatalf("shrunk snapshot: suspicious %q, warnings %q", res.Manifest.Suspicious, res.Warnings)
	}
	// Still compared with the last good one, not with the suspicious one before.
	if res = backup("c2", 100, false); res.Manifest.Suspicious == "" {
		t.Error("the second small backup is not suspicious")
	}
	if res = backup("c2", 100, true); res.Suspicious() {
		t.Errorf("--accept-shrink warned: %q", res.Warnings)
	}
	if res = backup("c2", 100, false); res.Suspicious() {
		t.Errorf("after an accepted shrink: %q", res.Warnings)
	}
}
