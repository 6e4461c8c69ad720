package catalog

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDrillRecordsAreObjectsListedAndPruned(t *testing.T) {
	ctx := context.Background()
	st := newMemStore(t0)
	old := putBackup(t, st, "vault", t0)
	newer := putBackup(t, st, "vault", t0.Add(time.Hour))
	manifestBefore, _ := st.Get(ctx, old.Key())
	var before bytes.Buffer
	_, _ = before.ReadFrom(manifestBefore)
	for i, ok := range []bool{true, false} {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		body, err := EncodeDrill(DrillObject{BackupID: old.ID, At: at, OK: ok, Detail: "d"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, DrillKey("vault", old.ID, at, ok), bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	backups, problems, err := List(ctx, st, "vault")
	if err != nil || len(problems) != 0 || len(backups) != 2 {
		t.Fatalf("List: %v, %v, %v", backups, problems, err)
	}
	b := backups[1]
	if b.ID != old.ID || len(b.Drills) != 2 || !b.Drills[0].OK || b.Drills[1].OK {
		t.Fatalf("drills of %s = %+v", b.ID, b.Drills)
	}
	if got := b.LastPassingDrill(); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastPassingDrill = %v", got)
	}
	after, _ := st.Get(ctx, old.Key())
	var now bytes.Buffer
	_, _ = now.ReadFrom(after)
	if !bytes.Equal(before.Bytes(), now.Bytes()) {
		t.Error("recording drills changed the manifest")
	}
	if _, err := Prune(ctx, st, "vault", Plan(t0.Add(2*time.Hour), backups, Policy{KeepLast: 1}), PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(st.keys(), func(k string) bool { return strings.Contains(k, old.ID) }) {
		t.Errorf("prune left objects of %s: %v", old.ID, st.keys())
	}
	if !slices.Contains(st.keys(), newer.Key()) {
		t.Errorf("prune removed the kept backup: %v", st.keys())
	}
}

func TestDrillRecordsOfAPrunedBackupAreSwept(t *testing.T) {
	ctx := context.Background()
	st := newMemStore(t0)
	m := putBackup(t, st, "vault", t0)
	key := DrillKey("vault", m.ID, t0, true)
	if err := st.Put(ctx, key, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, m.Key()); err != nil { // a prune that stopped after the manifest
		t.Fatal(err)
	}
	keys, err := Unfinished(ctx, st, "vault", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(keys, key) || !slices.Contains(keys, m.DataObjectKey()) {
		t.Fatalf("Unfinished = %v, want the data and the drill record", keys)
	}
}
