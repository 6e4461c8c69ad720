package catalog

import (
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
)

// hourly simulates a source backed up every hour: each run is assessed against the
// backups left by the previous runs' retention, as the pipeline does, and then pruned.
type hourly struct {
	t       *testing.T
	clk     *clocktest.Clock
	policy  Policy
	backups []Backup
	warned  map[string][]string // backup id -> warnings of its run
}

func (h *hourly) run(lineage string, rows int64) *Manifest {
	h.t.Helper()
	h.clk.Advance(time.Hour)
	m := testManifest("pg", h.clk.Now(), nil)
	m.Lineage = lineage
	m.Postgres = &PostgresInfo{TableRowCounts: map[string]int64{"public.t": rows}}
	h.warned[m.ID] = Assess(m, h.backups, AssessOptions{Shrink: DefaultSuspiciousShrink})
	h.backups = append(h.backups, Backup{ID: m.ID, Created: m.Created, Manifest: m})
	var kept []Backup
	for _, d := range Plan(h.clk.Now(), h.backups, h.policy) {
		if d.Keep {
			kept = append(kept, d.Backup)
		}
	}
	h.backups = kept
	return m
}

func (h *hourly) has(m *Manifest) bool {
	for _, b := range h.backups {
		if b.ID == m.ID {
			return true
		}
	}
	return false
}

func TestLineageRetentionOverASimulatedDay(t *testing.T) {
	tests := []struct {
		name string
		// after is the run that changes things: a re-initialised cluster (new lineage) or
		// an emptied database (same lineage, no rows).
		lineage  string
		rows     int64
		wantMark func(m *Manifest) bool
		wantWarn string
	}{
		{name: "re-initialised cluster", lineage: "new", rows: 10,
			wantMark: func(m *Manifest) bool { return m.NewLineage && m.PreviousLineage == "old" },
			wantWarn: "new lineage new"},
		{name: "emptied tables", lineage: "old", rows: 0,
			wantMark: func(m *Manifest) bool { return strings.Contains(m.Suspicious, "rows 0 is below 50% of the 1000") },
			wantWarn: "suspicious backup: rows 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &hourly{t: t, clk: clocktest.New(t0), policy: Policy{KeepLast: 3}, warned: map[string][]string{}}
			var good []*Manifest
			for range 5 {
				good = append(good, h.run("old", 1000))
			}
			if h.has(good[0]) || h.has(good[1]) || !h.has(good[2]) {
				t.Fatalf("keepLast 3 before the change: kept %d backups", len(h.backups))
			}
			good = good[2:]
			first := h.run(tc.lineage, tc.rows)
			if !tc.wantMark(first) {
				t.Errorf("first run after the change not marked: %+v", first)
			}
			if w := h.warned[first.ID]; len(w) != 1 || !strings.Contains(w[0], tc.wantWarn) {
				t.Errorf("warnings = %q, want one with %q", w, tc.wantWarn)
			}
			var after []*Manifest
			for range 23 {
				after = append(after, h.run(tc.lineage, tc.rows))
			}
			for _, m := range good {
				if !h.has(m) {
					t.Errorf("good backup %s was pushed out by the day after the change", m.ID)
				}
			}
			// Retention still works on the new backups: keepLast 3 of them (and the old
			// ones) after a day, not 24.
			if got, want := len(h.backups), len(good)+3; got != want {
				t.Errorf("%d backups after a day, want %d", got, want)
			}
			for _, m := range after[len(after)-3:] {
				if !h.has(m) {
					t.Errorf("newest backup %s not kept", m.ID)
				}
			}
		})
	}
}

func TestPlanLineages(t *testing.T) {
	mk := func(created time.Time, lineage, suspicious string) Backup {
		b := backupAt(created)
		b.Manifest.Lineage, b.Manifest.Suspicious = lineage, suspicious
		return b
	}
	in := []Backup{
		mk(at(10, 1), "A", ""), mk(at(11, 1), "A", ""),
		mk(at(18, 1), "B", ""), mk(at(19, 1), "B", "small"), mk(at(20, 1), "B", ""),
		mk(at(9, 1), "", ""), // unknown lineage: counts with the newest lineage
	}
	reasons := func(ds []Decision) string {
		var s []string
		for _, d := range ds {
			s = append(s, d.Backup.Created.Format("02")+"="+map[bool]string{true: "keep", false: "del"}[d.Keep])
		}
		return strings.Join(s, " ")
	}
	tests := []struct {
		name string
		p    Policy
		o    PlanOptions
		want string
	}{
		{"old lineage kept, suspicious counted apart", Policy{KeepLast: 1}, PlanOptions{},
			"20=keep 19=keep 18=del 11=keep 10=keep 09=del"},
		{"prune --lineage", Policy{KeepLast: 1}, PlanOptions{DropLineage: "A"},
			"20=keep 19=keep 18=del 11=del 10=del 09=del"},
		{"prune --lineage of the newest lineage deletes nothing extra", Policy{KeepLast: 1}, PlanOptions{DropLineage: "B"},
			"20=keep 19=keep 18=del 11=keep 10=keep 09=del"},
		{"maxAgeOtherLineages", Policy{KeepLast: 1, MaxAgeOtherLineages: Age{Days: 10}}, PlanOptions{},
			"20=keep 19=keep 18=del 11=keep 10=del 09=del"},
		{"maxAgeOtherLineages alone keeps the newest lineage", Policy{MaxAgeOtherLineages: Age{Days: 10}}, PlanOptions{},
			"20=keep 19=keep 18=keep 11=keep 10=del 09=keep"},
		{"no rules", Policy{}, PlanOptions{}, "20=keep 19=keep 18=keep 11=keep 10=keep 09=keep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanWith(t0, in, tc.p, tc.o)
			if s := reasons(got); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
		})
	}
	got := Plan(t0, in, Policy{KeepLast: 1})
	if r := got[3].Reasons[0]; !strings.Contains(r, "previous lineage A") || !strings.Contains(r, "prune --lineage A") {
		t.Errorf("old lineage reason = %q", r)
	}
	if r := got[1].Reasons[0]; r != ReasonSuspicious+"last 1" {
		t.Errorf("suspicious reason = %q", r)
	}
}
