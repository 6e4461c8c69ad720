package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
)

func listing(name string, age time.Duration, id string) inventory.Listing {
	if age < 0 {
		return inventory.Listing{Name: name}
	}
	return inventory.Listing{Name: name, Backups: []catalog.Backup{{ID: id, Created: start.Add(-age)}}}
}

func unlistable(name, why string) inventory.Listing {
	return inventory.Listing{Name: name, Err: errors.New(why)}
}

func damaged(l inventory.Listing, ids ...string) inventory.Listing {
	for _, id := range ids {
		l.Damaged = append(l.Damaged, inventory.Damaged{ID: id, Destination: l.Name, Err: errors.New("data object is 3 bytes")})
	}
	return l
}

// marked is a listing whose newest backup (of lineage "new", suspicious when why is set)
// follows one of lineage old ("" = the same lineage).
func marked(name, old, why string) inventory.Listing {
	mk := func(id, lineage, suspicious string, age time.Duration) catalog.Backup {
		return catalog.Backup{ID: id, Created: start.Add(-age), Manifest: &catalog.Manifest{
			ID: id, Source: catalog.SourceRef{Name: "vault"}, Lineage: lineage, Suspicious: suspicious}}
	}
	if old == "" {
		old = "new"
	}
	return inventory.Listing{Name: name, Backups: []catalog.Backup{mk("y", "new", why, time.Minute), mk("x", old, "", time.Hour)}}
}

func TestHealth(t *testing.T) {
	hour := time.Hour
	for _, c := range []struct {
		name       string
		dests      []inventory.Listing
		last       string
		interval   time.Duration
		want, says string
	}{
		{"nothing", []inventory.Listing{listing("a", -1, "")}, "", hour, HealthNever, "no committed backup"},
		{"unlistable", []inventory.Listing{unlistable("a", "connection refused")}, "", hour, HealthNever, "connection refused"},
		{"fresh", []inventory.Listing{listing("a", 10*time.Minute, "x"), listing("b", 10*time.Minute, "x")}, "ok", hour, HealthOK, "10m0s old"},
		{"last run failed", []inventory.Listing{listing("a", 10*time.Minute, "x")}, "failed", hour, HealthFailing, "was failed"},
		{"last run partial", []inventory.Listing{listing("a", 10*time.Minute, "x")}, "partial", hour, HealthFailing, "was partial"},
		{"one destination unlistable", []inventory.Listing{listing("a", time.Minute, "x"), unlistable("b", "403")}, "ok", hour, HealthFailing, "destination b"},
		{"missed one run", []inventory.Listing{listing("a", 2*hour+time.Minute, "x")}, "", hour, HealthStale, "destination a"},
		{"late but within two intervals", []inventory.Listing{listing("a", 90*time.Minute, "x")}, "", hour, HealthOK, ""},
		{"one destination behind", []inventory.Listing{listing("a", time.Minute, "y"), listing("b", 3*hour, "x")}, "", hour, HealthStale, "destination b"},
		{"one destination empty", []inventory.Listing{listing("a", time.Minute, "y"), listing("b", -1, "")}, "", hour, HealthStale, "holds no backup"},
		{"one damaged copy", []inventory.Listing{listing("a", time.Minute, "y"), damaged(listing("b", time.Minute, "y"), "x")}, "ok", hour, HealthFailing, "1 damaged copy in destination b (x: data object is 3 bytes)"},
		{"two damaged copies", []inventory.Listing{damaged(listing("a", time.Minute, "y"), "x", "w")}, "", hour, HealthFailing, "2 damaged copies in destination a"},
		{"only damaged copies", []inventory.Listing{damaged(listing("a", -1, ""), "x")}, "", hour, HealthNever, "no usable backup; 1 damaged copy in destination a"},
		{"a failed run comes first", []inventory.Listing{damaged(listing("a", time.Minute, "y"), "x")}, "failed", hour, HealthFailing, "was failed"},
		{"old lineage held", []inventory.Listing{listing("a", time.Minute, "z"), marked("b", "old", "")}, "ok", hour, HealthSuspicious,
			"destination b: 1 backup of previous lineage old held back from retention (the cluster was re-initialised); restore one, or remove them with `lifeboat prune vault --lineage old`"},
		{"newest suspicious", []inventory.Listing{marked("a", "", "rows 0 is below 50%")}, "ok", hour, HealthSuspicious, "the newest backup y is suspicious: rows 0"},
		{"a good backup after a suspicious one", []inventory.Listing{marked("a", "", "")}, "ok", hour, HealthOK, ""},
		{"suspicious, then stale", []inventory.Listing{marked("a", "", "small"), listing("b", 3*hour, "x")}, "", hour, HealthSuspicious, "destination a"},
		{"no schedule: never stale", []inventory.Listing{listing("a", 1000*hour, "x")}, "", 0, HealthOK, ""},
	} {
		got, why := Health(HealthInput{Destinations: c.dests, LastStatus: c.last, LastRunID: "run-1", Interval: c.interval, Now: start})
		if got != c.want || !strings.Contains(why, c.says) {
			t.Errorf("%s: %s (%s), want %s (…%s…)", c.name, got, why, c.want, c.says)
		}
	}
}
