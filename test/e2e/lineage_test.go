package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// withRetention gives both destinations of an e2e config `retention: {keepLast: 3}`.
func withRetention(t *testing.T, config string) {
	t.Helper()
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, kind := range []string{"    kind: file\n", "    kind: s3\n"} {
		if !strings.Contains(s, kind) {
			t.Fatalf("config has no %q", kind)
		}
		s = strings.Replace(s, kind, kind+"    retention: {keepLast: 3}\n", 1)
	}
	writeFile(t, config, s)
}

// ids returns the ids of rows, and checks each destination holds the same.
func idsOf(t *testing.T, byDest map[string][]listed) map[string]listed {
	t.Helper()
	out := map[string]listed{}
	for _, r := range byDest["local"] {
		out[r.ID] = r
	}
	if len(byDest["minio"]) != len(out) {
		t.Fatalf("local and minio hold different backups: %+v", byDest)
	}
	for _, r := range byDest["minio"] {
		if _, ok := out[r.ID]; !ok {
			t.Fatalf("minio holds %s, local does not: %+v", r.ID, byDest)
		}
	}
	return out
}

// A Vault wiped and re-initialised keeps being backed up with keepLast 3: every backup of
// the old cluster stays, the runs warn, and only `prune --lineage` removes the old ones.
func TestVaultReinitialisedKeepsOldLineage(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	testenv.ForEachFlavor(t, testVaultReinitialised)
}

func testVaultReinitialised(t *testing.T, flavor testenv.Flavor) {
	s := newVaultSetup(t, flavor, "")
	withRetention(t, s.config)
	seed(t, s.vault.Client())
	for range 4 {
		if r := s.lifeboat(t, 0, "backup", "vault"); strings.Contains(r.stdout, "WARNING") {
			t.Fatalf("a normal backup warned:\n%s", r)
		}
	}
	old := idsOf(t, backupsBySource(t, s, "vault"))
	if len(old) != 3 {
		t.Fatalf("keepLast 3 after 4 backups of one cluster: %d kept", len(old))
	}
	var oldLineage string
	for _, r := range old {
		oldLineage = r.Lineage
	}
	if oldLineage == "" {
		t.Fatal("backups record no lineage")
	}
	// The identity and size come from the real snapshot.
	var anyID string
	for id := range old {
		anyID = id
	}
	data, err := os.ReadFile(filepath.Join(s.localDir, catalog.ManifestKey("vault", anyID)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := catalog.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Vault == nil || m.Vault.ClusterID != oldLineage || m.Vault.SnapshotSize <= 0 || len(m.Vault.RaftServers) != 1 || m.Vault.RaftServers[0] != s.vault.Nodes[0].NodeID {
		t.Fatalf("manifest vault info = %+v, want cluster id %s, the raft state size and node %s", m.Vault, oldLineage, s.vault.Nodes[0].NodeID)
	}

	node := s.vault.Nodes[0]
	node.Stop()
	node.Wipe()
	node.Start()
	s.vault.Init(node)
	s.vault.Unseal(node)
	s.vault.WaitActive(node)
	writeFile(t, s.tokenFile, s.vault.RootToken+"\n")

	r := s.lifeboat(t, 0, "backup", "vault")
	if !strings.Contains(r.stdout, "WARNING: new lineage") || !strings.Contains(r.stdout, "--lineage "+oldLineage) {
		t.Fatalf("the first backup of the re-initialised cluster did not warn:\n%s", r)
	}
	if !strings.Contains(r.stderr, "backup warning") {
		t.Errorf("the warning is not logged:\n%s", r.stderr)
	}
	st := s.lifeboat(t, 1, "status", "vault")
	if !strings.Contains(st.stdout, "suspicious") || !strings.Contains(st.stdout, "previous lineage "+oldLineage) {
		t.Fatalf("status does not show the held lineage:\n%s", st)
	}
	for range 4 {
		s.lifeboat(t, 0, "backup", "vault")
	}
	now := idsOf(t, backupsBySource(t, s, "vault"))
	for id := range old {
		if _, ok := now[id]; !ok {
			t.Errorf("backup %s of the old cluster was pushed out", id)
		}
	}
	var newOnes []listed
	for _, r := range now {
		if r.Lineage != oldLineage {
			newOnes = append(newOnes, r)
		}
	}
	if len(newOnes) != 3 {
		t.Errorf("keepLast 3 over the new cluster's 5 backups kept %d: %+v", len(newOnes), newOnes)
	}

	dry := s.lifeboat(t, 0, "prune", "vault", "--lineage", oldLineage, "--dry-run")
	if !strings.Contains(dry.stdout, "would delete 3") {
		t.Fatalf("prune --lineage --dry-run:\n%s", dry)
	}
	if got := idsOf(t, backupsBySource(t, s, "vault")); len(got) != 6 {
		t.Fatalf("the dry run deleted: %d backups left", len(got))
	}
	s.lifeboat(t, 0, "prune", "vault", "--lineage", oldLineage)
	after := idsOf(t, backupsBySource(t, s, "vault"))
	if len(after) != 3 {
		t.Fatalf("after prune --lineage: %d backups, want the new cluster's 3", len(after))
	}
	for _, r := range after {
		if r.Lineage == oldLineage {
			t.Errorf("backup %s of the pruned lineage is still there", r.ID)
		}
	}
	if st := s.lifeboat(t, 0, "status", "vault"); !strings.Contains(st.stdout, ": ok") {
		t.Errorf("status after the old lineage was pruned:\n%s", st)
	}
	// The newest lineage cannot be removed with --lineage.
	var current string
	for _, r := range after {
		current = r.Lineage
	}
	if r := s.lifeboat(t, 1, "prune", "vault", "--lineage", current); !strings.Contains(r.stderr, "newest backup's") {
		t.Errorf("prune --lineage of the current lineage:\n%s", r)
	}
}

// A PostgreSQL database whose tables were emptied keeps being backed up with keepLast 3:
// every dump is flagged suspicious and none pushes the good ones out.
func TestPostgresEmptiedTablesAreSuspicious(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	s := newPgSetup(t, "", "")
	withRetention(t, s.config)
	for range 3 {
		s.lifeboat(t, 0, "backup", "workflows")
	}
	good := idsOf(t, backupsBySource(t, s, "workflows"))
	for _, r := range good {
		if r.Lineage == "" || !strings.HasSuffix(r.Lineage, "/argo") {
			t.Fatalf("a dump records lineage %q, want <system identifier>/argo", r.Lineage)
		}
	}
	conn := s.pg.Connect("argo")
	if _, err := conn.Exec(context.Background(), `DO $$ DECLARE r record; BEGIN
	  FOR r IN SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') LOOP
	    EXECUTE format('TRUNCATE %I.%I CASCADE', r.schemaname, r.tablename);
	  END LOOP; END $$`); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		r := s.lifeboat(t, 0, "backup", "workflows")
		if !strings.Contains(r.stdout, "WARNING: suspicious backup: rows 0 is below 50%") {
			t.Fatalf("dump %d of the emptied database did not warn:\n%s", i+1, r)
		}
	}
	now := idsOf(t, backupsBySource(t, s, "workflows"))
	for id := range good {
		if _, ok := now[id]; !ok {
			t.Errorf("good dump %s was pushed out by dumps of the emptied database", id)
		}
	}
	suspicious := 0
	for _, r := range now {
		if r.Suspicious != "" {
			suspicious++
		}
	}
	if suspicious != 3 || len(now) != 6 {
		t.Errorf("want the 3 good dumps and the 3 newest suspicious ones, got %d backups, %d suspicious", len(now), suspicious)
	}
	if st := s.lifeboat(t, 1, "status", "workflows"); !strings.Contains(st.stdout, "suspicious") {
		t.Errorf("status does not show the suspicious dump:\n%s", st)
	}
	// An intended shrink is accepted once; the next dump is good again.
	if r := s.lifeboat(t, 0, "backup", "workflows", "--accept-shrink"); strings.Contains(r.stdout, "WARNING") {
		t.Errorf("--accept-shrink still warned:\n%s", r)
	}
	if r := s.lifeboat(t, 0, "backup", "workflows"); strings.Contains(r.stdout, "WARNING") {
		t.Errorf("the dump after an accepted shrink warned:\n%s", r)
	}
}
