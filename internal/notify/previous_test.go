package notify

import (
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
)

func TestPrevious(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	b := func(h int) catalog.Backup {
		at := t0.Add(time.Duration(h) * time.Hour)
		id := catalog.NewBackupID("vault", at)
		return catalog.Backup{ID: id, Created: at, Manifest: &catalog.Manifest{ID: id, Created: at}}
	}
	listing := func(name string, bs ...catalog.Backup) inventory.Listing {
		// newest first, as catalog.List returns them
		for i, j := 0, len(bs)-1; i < j; i, j = i+1, j-1 {
			bs[i], bs[j] = bs[j], bs[i]
		}
		return inventory.Listing{Name: name, Backups: bs}
	}
	old, prev, now := b(0), b(24), b(48)
	started := now.Created
	const day = 24 * time.Hour
	tests := []struct {
		name     string
		listings []inventory.Listing
		interval time.Duration
		want     string
	}{
		{"first backup ever", []inventory.Listing{listing("local", now), listing("s3", now)}, day, ""},
		{"previous everywhere, on time", []inventory.Listing{listing("local", old, prev, now), listing("s3", old, prev, now)}, day, "ok"},
		{"previous missing in s3: it was partial", []inventory.Listing{listing("local", old, prev, now), listing("s3", old, now)}, day, "partial"},
		// s3 was added after prev was taken: it is not missing prev.
		{"destination added later", []inventory.Listing{listing("local", old, prev, now), listing("s3", now)}, day, "ok"},
		{"a scheduled run committed nothing", []inventory.Listing{listing("local", old, now), listing("s3", old, now)}, day, "failed"},
		{"no schedule: no staleness known", []inventory.Listing{listing("local", old, now), listing("s3", old, now)}, 0, "ok"},
		{"a late run within one and a half intervals", []inventory.Listing{listing("local", prev, now)}, 20 * time.Hour, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &inventory.Inventory{Source: "vault", Now: started, Listings: tt.listings}
			if got := Previous(inv, now.ID, started.Add(time.Minute), tt.interval, 0); got != tt.want {
				t.Errorf("Previous = %q, want %q", got, tt.want)
			}
		})
	}
}
