package catalog

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// at builds a UTC time in November 2026 (t0 is 2026-11-20 15:30, a Friday of ISO week 47).
func at(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

func backupAt(created time.Time) Backup {
	m := testManifest("vault", created, nil)
	return Backup{ID: m.ID, Created: created, Manifest: m}
}

// want is one expected decision: the keep reasons, or nil for a delete.
type want struct {
	created time.Time
	reasons []string
}

func del(t time.Time) want                     { return want{created: t} }
func keep(t time.Time, reasons ...string) want { return want{t, reasons} }

func TestPlan(t *testing.T) {
	tests := []struct {
		name   string
		now    time.Time
		policy Policy
		want   []want // newest first; Plan's input is given oldest first
	}{
		{name: "empty input", policy: Policy{KeepLast: 3}},
		{name: "zero policy keeps everything", want: []want{
			keep(at(20, 1), ReasonNoPolicy), keep(at(10, 1), ReasonNoPolicy), keep(at(1, 1), ReasonNoPolicy),
		}},
		{name: "keepLast", policy: Policy{KeepLast: 2}, want: []want{
			keep(at(20, 3), "last 2"), keep(at(20, 2), "last 2"), del(at(20, 1)), del(at(19, 1)),
		}},
		{name: "keepLast larger than list", policy: Policy{KeepLast: 10}, want: []want{
			keep(at(20, 3), "last 10"), keep(at(1, 2), "last 10"),
		}},
		{name: "keepDaily keeps newest per day, skips days without backups", policy: Policy{KeepDaily: 3}, want: []want{
			keep(at(20, 15), "daily 2026-11-20"), del(at(20, 9)),
			keep(at(19, 23), "daily 2026-11-19"), del(at(19, 1)),
			keep(at(17, 12), "daily 2026-11-17"), del(at(17, 11)), del(at(16, 12)),
		}},
		{name: "keepDaily with room left keeps the oldest too", policy: Policy{KeepDaily: 7}, want: []want{
			keep(at(20, 15), "daily 2026-11-20"), del(at(20, 9)), keep(at(20, 1), "oldest daily 2026-11-20"),
		}},
		{name: "oldest of an earlier day with room left", policy: Policy{KeepDaily: 3}, want: []want{
			keep(at(20, 15), "daily 2026-11-20"),
			keep(at(19, 23), "daily 2026-11-19"), del(at(19, 12)), keep(at(19, 1), "oldest daily 2026-11-19"),
		}},
		{name: "oldest in a new bucket gives the plain reason", policy: Policy{KeepDaily: 7}, want: []want{
			keep(at(20, 15), "daily 2026-11-20"), del(at(20, 9)), keep(at(19, 1), "daily 2026-11-19"),
		}},
		{name: "a full rule does not keep the oldest", policy: Policy{KeepDaily: 1}, want: []want{
			keep(at(20, 15), "daily 2026-11-20"), del(at(20, 9)), del(at(20, 1)),
		}},
		{name: "each rule with room names the oldest", policy: Policy{KeepLast: 1, KeepWeekly: 4, KeepMonthly: 1}, want: []want{
			keep(at(20, 15), "last 1", "weekly 2026-W47", "monthly 2026-11"),
			del(at(20, 9)),
			keep(at(19, 1), "oldest weekly 2026-W47"),
		}},
		{name: "keepWeekly uses ISO weeks", policy: Policy{KeepWeekly: 2}, want: []want{
			keep(at(20, 1), "weekly 2026-W47"), del(at(16, 1)),
			keep(at(15, 23), "weekly 2026-W46"), del(at(9, 1)), del(at(8, 1)),
		}},
		{name: "keepMonthly", policy: Policy{KeepMonthly: 2}, want: []want{
			keep(at(20, 1), "monthly 2026-11"), del(at(1, 1)),
			keep(time.Date(2026, 10, 31, 23, 59, 0, 0, time.UTC), "monthly 2026-10"),
			del(time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)),
			del(time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC)),
		}},
		{name: "keepWithin measures from now, inclusive", now: t0, policy: Policy{KeepWithin: Age{Days: 2}}, want: []want{
			keep(at(20, 10), "within 2d"),
			keep(time.Date(2026, 11, 18, 15, 30, 0, 0, time.UTC), "within 2d"),
			del(at(18, 15)),
		}},
		{name: "keepWithin is not relative to the newest backup", now: t0, policy: Policy{KeepWithin: Age{Days: 2}}, want: []want{
			keep(at(10, 12), ReasonNewest), del(at(10, 11)), del(at(9, 12)),
		}},
		{name: "newest is always kept", policy: Policy{KeepWithin: Age{Hours: 1}}, now: t0, want: []want{
			keep(at(1, 5), ReasonNewest), del(at(1, 4)),
		}},
		{name: "single backup under a strict policy", policy: Policy{KeepWithin: Age{Hours: 1}}, now: t0, want: []want{
			keep(at(1, 5), ReasonNewest),
		}},
		{name: "combined rules list every reason", now: t0, policy: Policy{KeepLast: 1, KeepWithin: Age{Days: 1}, KeepDaily: 2, KeepMonthly: 2}, want: []want{
			keep(at(20, 12), "within 1d", "last 1", "daily 2026-11-20", "monthly 2026-11"),
			keep(at(20, 6), "within 1d"),
			keep(at(18, 6), "daily 2026-11-18"),
			del(at(17, 6)),
			keep(time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), "monthly 2026-10"),
			del(time.Date(2026, 9, 5, 0, 0, 0, 0, time.UTC)),
		}},
		{name: "ISO week spans the new year", policy: Policy{KeepWeekly: 2}, want: []want{
			keep(time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC), "weekly 2026-W53"),
			del(time.Date(2026, 12, 31, 1, 0, 0, 0, time.UTC)),
			keep(time.Date(2026, 12, 27, 1, 0, 0, 0, time.UTC), "weekly 2026-W52"),
		}},
		{name: "days are UTC days", policy: Policy{KeepDaily: 1}, want: []want{
			// 00:30 in CET on the 21st is 23:30 UTC on the 20th.
			keep(time.Date(2026, 11, 21, 0, 30, 0, 0, time.FixedZone("CET", 3600)), "daily 2026-11-20"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in []Backup
			for i := len(tc.want) - 1; i >= 0; i-- {
				in = append(in, backupAt(tc.want[i].created))
			}
			got := Plan(tc.now, in, tc.policy)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d decisions, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				d := got[i]
				wantKeep := w.reasons != nil
				if w.reasons == nil {
					w.reasons = []string{ReasonNotMatched}
				}
				if !d.Backup.Created.Equal(w.created) || d.Keep != wantKeep || !reflect.DeepEqual(d.Reasons, w.reasons) {
					t.Errorf("decision %d: got %s keep=%v %q, want %s keep=%v %q", i,
						d.Backup.Created.Format(time.RFC3339), d.Keep, d.Reasons, w.created.Format(time.RFC3339), wantKeep, w.reasons)
				}
			}
		})
	}
}

func TestPlanTiesAndOrder(t *testing.T) {
	same := at(20, 1)
	mk := func(suffix string, created time.Time) Backup {
		b := backupAt(created)
		b.ID = "vault-" + created.Format(IDTimeLayout) + "-" + suffix
		b.Manifest.ID = b.ID
		return b
	}
	in := []Backup{mk("aaaa", same), mk("0000", at(19, 1)), mk("ffff", same), mk("1234", same)}
	got := Plan(t0, in, Policy{KeepLast: 1})
	var ids []string
	for _, d := range got {
		ids = append(ids, fmt.Sprintf("%s:%v", d.Backup.ID[len(d.Backup.ID)-4:], d.Keep))
	}
	if s := strings.Join(ids, " "); s != "ffff:true aaaa:false 1234:false 0000:false" {
		t.Errorf("order/keep = %s", s)
	}
	if in[0].ID[len(in[0].ID)-4:] != "aaaa" {
		t.Error("Plan reordered its input slice")
	}
}

func TestPolicyValidateAndString(t *testing.T) {
	p := Policy{KeepLast: -1, KeepWeekly: -2}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "keepLast must not be negative (got -1)") ||
		!strings.Contains(err.Error(), "keepWeekly must not be negative (got -2)") {
		t.Errorf("Validate = %v", err)
	}
	if err := (Policy{KeepDaily: 7}).Validate(); err != nil {
		t.Errorf("Validate of a good policy: %v", err)
	}
	for p, want := range map[Policy]string{
		{}: "keep everything",
		{KeepLast: 7, KeepWithin: Age{Days: 30}, KeepMonthly: 6}: "keepLast=7 keepWithin=30d keepMonthly=6",
	} {
		if got := p.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	if !(Policy{}).KeepsEverything() || (Policy{KeepWithin: Age{Hours: 1}}).KeepsEverything() {
		t.Error("KeepsEverything wrong")
	}
}
