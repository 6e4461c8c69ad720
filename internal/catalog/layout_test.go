package catalog

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestValidName(t *testing.T) {
	for _, name := range []string{"vault", "workflows", "a", "pg-15", "x" + strings.Repeat("a", 40)} {
		if err := ValidName(name); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "Vault", "1vault", "-vault", "vault_1", "vault/x", "va ult", "x" + strings.Repeat("a", 41)} {
		err := ValidName(name)
		if err == nil {
			t.Errorf("ValidName(%q) = nil, want error", name)
			continue
		}
		if !strings.Contains(err.Error(), "lowercase letter first") {
			t.Errorf("ValidName(%q) error %q does not say what is allowed", name, err)
		}
	}
}

func TestNewBackupIDRoundTrip(t *testing.T) {
	local := time.FixedZone("CET", 3600)
	created := time.Date(2026, 11, 20, 16, 30, 5, 999, local) // 15:30:05 UTC
	seen := map[string]bool{}
	for range 50 {
		id := NewBackupID("vault-dr", created)
		if !regexp.MustCompile(`^vault-dr-20261120T153005Z-[0-9a-f]{4}$`).MatchString(id) {
			t.Fatalf("NewBackupID = %q, wrong form", id)
		}
		seen[id] = true
		src, ts, err := ParseBackupID(id)
		if err != nil {
			t.Fatal(err)
		}
		if src != "vault-dr" || !ts.Equal(created.Truncate(time.Second)) || ts.Location() != time.UTC {
			t.Fatalf("ParseBackupID(%q) = %q, %v", id, src, ts)
		}
	}
	if len(seen) < 40 {
		t.Errorf("only %d distinct ids out of 50 in the same second", len(seen))
	}
}

func TestParseBackupIDErrors(t *testing.T) {
	for _, id := range []string{
		"",
		"vault",
		"20261120T153005Z-abcd",            // no source
		"-20261120T153005Z-abcd",           // empty source
		"vault-20261120T153005Z-ABCD",      // upper case suffix
		"vault-20261120T153005Z-abc",       // short suffix
		"vault-20261120153005Z-abcd",       // no T
		"vault-20261320T153005Z-abcd",      // month 13
		"Vault-20261120T153005Z-abcd",      // bad source name
		"vault-20261120T153005Z-abcd/../x", // path
	} {
		if _, _, err := ParseBackupID(id); err == nil {
			t.Errorf("ParseBackupID(%q) succeeded, want error", id)
		} else if !strings.Contains(err.Error(), "invalid backup id") {
			t.Errorf("ParseBackupID(%q) error %q", id, err)
		}
	}
}

func TestKeys(t *testing.T) {
	id := "vault-20261120T153005Z-abcd"
	for _, c := range []struct{ got, want string }{
		{BackupDir("vault", id), "vault/" + id + "/"},
		{DataKey("vault", id, "snap.age"), "vault/" + id + "/data.snap.age"},
		{DataKey("vault", id, ".dump.zst"), "vault/" + id + "/data.dump.zst"},
		{ManifestKey("vault", id), "vault/" + id + "/manifest.json"},
		{DataName("snap"), "data.snap"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
