package server

import (
	"fmt"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// Health values, worst first.
const (
	HealthNever   = "never"   // no committed backup in any destination
	HealthFailing = "failing" // the last run failed or was partial, a destination cannot be listed or holds a damaged copy
	// HealthSuspicious: the newest backup is far smaller than the last good one, or
	// backups of an older lineage (a re-initialised cluster) are held (catalog.Attention).
	HealthSuspicious = "suspicious"
	HealthStale      = "stale" // a destination's newest backup is older than StaleAfter
	HealthOK         = "ok"
)

// HealthInput is what a source's health is judged from.
type HealthInput struct {
	Destinations []inventory.Listing
	// LastStatus is the status of the source's last finished run; empty when unknown
	// (`lifeboat status` without a server has no history).
	LastStatus, LastRunID string
	Interval, Jitter      time.Duration // zero Interval: no schedule, so nothing is stale
	Now                   time.Time
}

// StaleAfter is how old a destination's newest backup may get before the source is
// stale: two intervals plus the jitter, so one late or slow run does not flap the health,
// but a missed run does show.
func StaleAfter(interval, jitter time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	return 2*interval + jitter
}

// Health judges a source and says why, in words an operator can act on.
func Health(in HealthInput) (string, string) {
	var newest time.Time
	for _, d := range in.Destinations {
		if b := d.Newest(); b != nil && b.Created.After(newest) {
			newest = b.Created
		}
	}
	if newest.IsZero() {
		for _, d := range in.Destinations {
			if d.Err != nil {
				return HealthNever, fmt.Sprintf("no backup found; destination %s could not be listed: %s", d.Name, d.Err)
			}
		}
		for _, d := range in.Destinations {
			if len(d.Damaged) > 0 {
				return HealthNever, fmt.Sprintf("no usable backup; %s", damagedIn(d))
			}
		}
		return HealthNever, "no committed backup in any destination"
	}
	if in.LastStatus == string(pipeline.StatusFailed) || in.LastStatus == string(pipeline.StatusPartial) {
		return HealthFailing, fmt.Sprintf("the last run (%s) was %s", in.LastRunID, in.LastStatus)
	}
	for _, d := range in.Destinations {
		if d.Err != nil {
			return HealthFailing, fmt.Sprintf("destination %s could not be listed: %s", d.Name, d.Err)
		}
	}
	// A damaged copy is a backup an operator counts on and cannot restore from: it
	// needs attention as much as a failed run does.
	for _, d := range in.Destinations {
		if len(d.Damaged) > 0 {
			return HealthFailing, damagedIn(d)
		}
	}
	// Backups keep coming, but of a cluster that lost its data or was re-initialised:
	// worse than a late backup, since every run looks fine.
	for _, d := range in.Destinations {
		if why := catalog.Attention(d.Backups); why != "" {
			return HealthSuspicious, fmt.Sprintf("destination %s: %s", d.Name, why)
		}
	}
	limit := StaleAfter(in.Interval, in.Jitter)
	if limit > 0 {
		for _, d := range in.Destinations {
			b := d.Newest()
			if b == nil {
				return HealthStale, fmt.Sprintf("destination %s holds no backup", d.Name)
			}
			if age := in.Now.Sub(b.Created); age > limit {
				return HealthStale, fmt.Sprintf("the newest backup in destination %s is %s old (stale after %s)", d.Name, age.Round(time.Second), limit)
			}
		}
	}
	return HealthOK, fmt.Sprintf("newest backup %s old", in.Now.Sub(newest).Round(time.Second))
}

// damagedIn says how many damaged copies a destination holds, naming the first.
func damagedIn(d inventory.Listing) string {
	first := d.Damaged[0]
	return fmt.Sprintf("%d damaged %s in destination %s (%s: %s); see `lifeboat verify`",
		len(d.Damaged), plural(len(d.Damaged), "copy", "copies"), d.Name, first.ID, first.Reason())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
