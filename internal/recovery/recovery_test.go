package recovery

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

func TestDecide(t *testing.T) {
	a := map[string]any{"value": "a"}
	tests := []struct {
		name         string
		backup, live map[string]any
		action       string
		writes       bool
	}{
		{"missing live: create", a, nil, ActionCreate, true},
		{"same data: unchanged", a, map[string]any{"value": "a"}, ActionUnchanged, false},
		{"other data: update", a, map[string]any{"value": "b"}, ActionUpdate, true},
		{"extra live key: update", a, map[string]any{"value": "a", "x": "y"}, ActionUpdate, true},
		{"empty secret in the backup is still data", map[string]any{}, nil, ActionCreate, true},
		{"deleted in the backup, missing live: skip", nil, nil, ActionSkip, false},
		{"deleted in the backup, live present: skip, live kept", nil, a, ActionSkip, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			action, note := decide(tc.backup, tc.live)
			if action != tc.action {
				t.Errorf("action = %q, want %q", action, tc.action)
			}
			if (action == ActionSkip) != (note == NoteDeletedInBackup) {
				t.Errorf("note = %q for action %q", note, action)
			}
			ch := Change{Action: action, data: tc.backup}
			if ch.Writes() != tc.writes {
				t.Errorf("Writes() = %v, want %v", ch.Writes(), tc.writes)
			}
		})
	}
}

// A secret whose latest version was soft-deleted or destroyed at backup time is listed by
// the KV v2 metadata but has no data: Plan skips it and Apply leaves the live one alone.
// One server plays both the restored copy (backup/) and the live Vault (live/).
func TestPlanSkipsSecretsDeletedInTheBackup(t *testing.T) {
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		v := testenv.StartVault(t, flavor)
		c := v.Client()
		ctx := context.Background()
		if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			t.Fatal(err)
		}
		kv := c.KVv2("secret")
		for path, value := range map[string]string{
			"backup/kept": "a", "backup/changed": "new", "backup/deleted": "gone", "backup/destroyed": "shredded",
			"live/kept": "a", "live/changed": "old", "live/deleted": "still live",
		} {
			put(t, kv, path, value)
		}
		if err := kv.Delete(ctx, "backup/deleted"); err != nil {
			t.Fatal(err)
		}
		if err := kv.Destroy(ctx, "backup/destroyed", []int{1}); err != nil {
			t.Fatal(err)
		}

		changes, err := Plan(ctx, c, c, "secret/data/backup", "secret/data/live")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ch := range changes {
			got = append(got, ch.Action+" "+ch.To)
			if ch.Action == ActionSkip && (ch.Note != NoteDeletedInBackup || len(ch.Keys) != 0) {
				t.Errorf("skip of %s: note %q keys %q", ch.From, ch.Note, ch.Keys)
			}
		}
		sort.Strings(got)
		want := []string{
			"skip secret/data/live/deleted", "skip secret/data/live/destroyed",
			"unchanged secret/data/live/kept", "update secret/data/live/changed",
		}
		sort.Strings(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}

		if err := Apply(ctx, c, changes); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		for path, want := range map[string]string{"live/changed": "new", "live/deleted": "still live", "live/kept": "a"} {
			s, err := kv.Get(ctx, path)
			if err != nil || s.Data["value"] != want {
				t.Errorf("%s after Apply = %v, %v; want %q", path, s, err, want)
			}
		}
		if _, err := kv.Get(ctx, "live/destroyed"); !errors.Is(err, vaultapi.ErrSecretNotFound) {
			t.Errorf("live/destroyed after Apply: %v, want it never written", err)
		}
	})
}

// put writes a KV v2 secret, waiting out the engine's start-up upgrade after the mount.
func put(t *testing.T, kv *vaultapi.KVv2, path, value string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := kv.Put(context.Background(), path, map[string]any{"value": value})
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "Upgrading from non-versioned to versioned") || time.Now().After(deadline) {
			t.Fatalf("write secret %s: %v", path, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
