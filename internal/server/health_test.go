package server

import (
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

func listing(name string, age time.Duration, id string) DestinationListing {
	if age < 0 {
		return DestinationListing{Name: name}
	}
	return DestinationListing{Name: name, Backups: 1, Newest: &catalog.Backup{ID: id, Created: start.Add(-age)}}
}

func TestHealth(t *testing.T) {
	hour := time.Hour
	for _, c := range []struct {
		name       string
		dests      []DestinationListing
		last       string
		interval   time.Duration
		want, says string
	}{
		{"nothing", []DestinationListing{listing("a", -1, "")}, "", hour, HealthNever, "no committed backup"},
		{"unlistable", []DestinationListing{{Name: "a", Error: "connection refused"}}, "", hour, HealthNever, "connection refused"},
		{"fresh", []DestinationListing{listing("a", 10*time.Minute, "x"), listing("b", 10*time.Minute, "x")}, "ok", hour, HealthOK, "10m0s old"},
		{"last run failed", []DestinationListing{listing("a", 10*time.Minute, "x")}, "failed", hour, HealthFailing, "was failed"},
		{"last run partial", []DestinationListing{listing("a", 10*time.Minute, "x")}, "partial", hour, HealthFailing, "was partial"},
		{"one destination unlistable", []DestinationListing{listing("a", time.Minute, "x"), {Name: "b", Error: "403"}}, "ok", hour, HealthFailing, "destination b"},
		{"missed one run", []DestinationListing{listing("a", 2*hour+time.Minute, "x")}, "", hour, HealthStale, "destination a"},
		{"late but within two intervals", []DestinationListing{listing("a", 90*time.Minute, "x")}, "", hour, HealthOK, ""},
		{"one destination behind", []DestinationListing{listing("a", time.Minute, "y"), listing("b", 3*hour, "x")}, "", hour, HealthStale, "destination b"},
		{"one destination empty", []DestinationListing{listing("a", time.Minute, "y"), listing("b", -1, "")}, "", hour, HealthStale, "holds no backup"},
		{"no schedule: never stale", []DestinationListing{listing("a", 1000*hour, "x")}, "", 0, HealthOK, ""},
	} {
		got, why := Health(HealthInput{Destinations: c.dests, LastStatus: c.last, LastRunID: "run-1", Interval: c.interval, Now: start})
		if got != c.want || !strings.Contains(why, c.says) {
			t.Errorf("%s: %s (%s), want %s (…%s…)", c.name, got, why, c.want, c.says)
		}
	}
}
