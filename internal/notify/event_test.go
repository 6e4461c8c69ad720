package notify

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
)

func TestForRunEvents(t *testing.T) {
	run := func(status string) history.Run {
		return history.Run{ID: "vault-20261207T101500Z-1a2b", Source: "vault", Status: status, Trigger: history.TriggerSchedule,
			Destinations: []history.Destination{{Name: "local", OK: true}, {Name: "s3", OK: status == "ok", Error: "connection refused"}}}
	}
	tests := []struct {
		status, previous string
		want             []string
	}{
		{"failed", "ok", []string{config.EventFailure}},
		{"failed", "failed", []string{config.EventFailure}},
		{"partial", "", []string{config.EventPartial}},
		{"ok", "failed", []string{config.EventRecovery, config.EventSuccess}},
		{"ok", "partial", []string{config.EventRecovery, config.EventSuccess}},
		{"ok", "ok", []string{config.EventSuccess}},
		{"ok", "", []string{config.EventSuccess}},
	}
	for _, tt := range tests {
		n := ForRun(run(tt.status), tt.previous)
		if !slices.Equal(n.Events, tt.want) {
			t.Errorf("%s after %q: events %v, want %v", tt.status, tt.previous, n.Events, tt.want)
		}
	}
}

// Each notifier gets one notification per run: the most specific event it wants.
func TestAddressedOncePerNotifier(t *testing.T) {
	n := ForRun(history.Run{ID: "vault-x", Source: "vault", Status: "ok"}, "failed")
	if ev := n.addressed(config.EventRecovery); ev.Event != "recovery" || ev.Previous != "failed" || ev.Summary == "" {
		t.Errorf("recovery: %+v", ev)
	}
	if ev := n.addressed(config.EventSuccess); ev.Event != "success" || ev.Previous != "" {
		t.Errorf("success: %+v", ev)
	}
}

// The documented body: field names are part of the contract (docs/notifications.md).
func TestEventJSON(t *testing.T) {
	n := ForRun(history.Run{ID: "vault-20261207T101500Z-1a2b", Source: "vault", Status: "partial", Trigger: history.TriggerCLI,
		Error:        "destination s3 (s3://backups/lifeboat): connection refused",
		Destinations: []history.Destination{{Name: "local", OK: true}, {Name: "s3", Error: "connection refused"}}}, "")
	ev := n.addressed(config.EventPartial)
	ev.Version, ev.ID, ev.Host = Version, "0123abcd", "lifeboat-backup-vault-29012345-x7k2p"
	ev.Time = time.Date(2026, 12, 7, 10, 15, 42, 0, time.UTC)
	got, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"id":"0123abcd","event":"partial","source":"vault","backup":"vault-20261207T101500Z-1a2b",` +
		`"status":"partial","trigger":"cli","destinations":[{"name":"local","ok":true},{"name":"s3","ok":false,"error":"connection refused"}],` +
		`"error":"destination s3 (s3://backups/lifeboat): connection refused",` +
		`"summary":"lifeboat: backup of vault PARTIAL (vault-20261207T101500Z-1a2b); committed to local; failed on s3: destination s3 (s3://backups/lifeboat): connection refused",` +
		`"time":"2026-12-07T10:15:42Z","host":"lifeboat-backup-vault-29012345-x7k2p"}`
	if string(got) != want {
		t.Errorf("body:\n%s\nwant:\n%s", got, want)
	}
}

func TestForDrillAndCopies(t *testing.T) {
	if n := ForDrill("vault", "vault-x", "s3", nil); len(n.Events) != 0 {
		t.Errorf("a passed drill is news: %+v", n)
	}
	n := ForDrill("vault", "vault-x", "s3", errors.New("mount secret/ missing"))
	if !slices.Equal(n.Events, []string{config.EventDrillFailure}) || n.Event.Error != "mount secret/ missing" || n.Event.Backup != "vault-x" {
		t.Errorf("failed drill: %+v", n)
	}
	if n := ForCopies("vault", nil); len(n.Events) != 0 {
		t.Errorf("no copies is news: %+v", n)
	}
	n = ForCopies("vault", []Copy{{Backup: "vault-x", Destination: "s3", Problem: ProblemDamaged, Reason: "data missing"}})
	if !slices.Equal(n.Events, []string{config.EventDamagedCopy}) || n.Event.Backup != "vault-x" || len(n.Event.Copies) != 1 {
		t.Errorf("damaged copy: %+v", n)
	}
}
