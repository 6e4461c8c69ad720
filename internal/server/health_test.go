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
		{"no schedule: never stale", []inventory.Listing{listing("a", 1000*hour, "x")}, "", 0, HealthOK, ""},
	} {
		got, why := Health(HealthInput{Destinations: c.dests, LastStatus: c.last, LastRunID: "run-1", Interval: c.interval, Now: start})
		if got != c.want || !strings.Contains(why, c.says) {
			t.Errorf("%s: %s (%s), want %s (…%s…)", c.name, got, why, c.want, c.says)
		}
	}
}
