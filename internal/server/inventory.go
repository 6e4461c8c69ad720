package server

import (
	"context"
	"sync"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
)

// listings caches the latest inventory of every source, so status, the page and metrics
// do not list S3 on every request. It is refreshed after each run and every
// Options.RefreshEvery.
type listings struct {
	mu       sync.Mutex
	bySource map[string]*inventory.Inventory
	// tried is closed for each source once its first listing has been attempted, so a
	// request right after start waits for it instead of showing no backups.
	tried map[string]chan struct{}
}

func newListings() *listings {
	return &listings{bySource: map[string]*inventory.Inventory{}, tried: map[string]chan struct{}{}}
}

// expect notes that a first listing of each source is under way (Start calls it), so
// awaitFirst waits for it; without Start nothing is awaited.
func (c *listings) expect(sources []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range sources {
		if _, ok := c.tried[s]; !ok {
			c.tried[s] = make(chan struct{})
		}
	}
}

func (c *listings) set(inv *inventory.Inventory) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bySource[inv.Source] = inv
	c.markTriedLocked(inv.Source)
}

// markTried records that source's first listing was attempted, whatever its outcome.
func (c *listings) markTried(source string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markTriedLocked(source)
}

func (c *listings) markTriedLocked(source string) {
	if ch, ok := c.tried[source]; ok {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
}

// awaitFirst waits until source's first listing has been attempted, for at most max or
// until ctx ends: a page opened as the server starts should show the backups, but a
// destination that hangs must not hang the page (it then shows "not listed yet").
func (c *listings) awaitFirst(ctx context.Context, source string, max time.Duration) {
	c.mu.Lock()
	ch := c.tried[source]
	c.mu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// get is the last inventory of source, nil before the first listing. Inventories are
// never changed once taken, so the caller may read it without the lock.
func (c *listings) get(source string) *inventory.Inventory {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bySource[source]
}

// onlyDestination is inv narrowed to destination only ("" for all), sharing its listings.
func onlyDestination(inv *inventory.Inventory, only string) *inventory.Inventory {
	if only == "" {
		return inv
	}
	out := *inv
	out.Only, out.Listings = only, nil
	for _, l := range inv.Listings {
		if l.Name == only {
			out.Listings = append(out.Listings, l)
		}
	}
	return &out
}

// newest is the creation time of the newest backup of source in any destination, and
// whether every destination could be listed.
func (c *listings) newest(source string) (time.Time, bool) {
	inv := c.get(source)
	if inv == nil {
		return time.Time{}, true
	}
	var t time.Time
	for _, l := range inv.Listings {
		if b := l.Newest(); b != nil && b.Created.After(t) {
			t = b.Created
		}
	}
	return t, len(inv.Unlisted()) == 0
}

// refresh re-lists source's destinations and updates the metrics that come from them.
// firstListingWait bounds how long a status request made as the server starts waits for
// the first listing of a source.
const firstListingWait = 10 * time.Second

func (s *Server) refresh(ctx context.Context, source string) {
	inv, err := inventory.Take(ctx, s.app, source, "", s.clock.Now())
	if err != nil {
		s.inv.markTried(source)
		s.log.Warn("could not list the destinations", "source", source, "err", err)
		return
	}
	if ctx.Err() != nil {
		s.inv.markTried(source)
		return // cancelled half-way: keep the previous, complete listing
	}
	s.inv.set(inv)
	if t, ok := committedEverywhere(inv.Listings); ok {
		s.met.SetLastSuccess(source, t)
	}
	for _, l := range inv.Listings {
		s.met.SetDrillLastSuccess(source, newestPassingDrill(l.Backups))
		if l.Err != nil {
			s.log.Warn("destination could not be listed", "source", source, "destination", l.Name, "err", l.Err)
		}
		for _, d := range l.Damaged {
			s.log.Warn("damaged copy of a backup", "source", source, "destination", l.Name, "backup", d.ID, "reason", d.Reason())
		}
	}
	s.met.ObserveInventory(inv)
	s.notifyDamaged(inv)
}

func (s *Server) refreshLoop(ctx context.Context) {
	for {
		c, stop := s.clock.Timer(s.opts.RefreshEvery)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-c:
		}
		for _, src := range s.app.Config.Sources {
			if _, busy := s.Running(src.Name); !busy {
				s.refresh(ctx, src.Name) // a running source is re-listed when its run ends
			}
		}
	}
}

// committedEverywhere returns when the newest backup finished if every destination holds
// it as its newest: the catalog's own evidence of a fully successful run.
func committedEverywhere(ls []inventory.Listing) (time.Time, bool) {
	if len(ls) == 0 || ls[0].Newest() == nil {
		return time.Time{}, false
	}
	first := ls[0].Newest()
	for _, l := range ls {
		if b := l.Newest(); b == nil || b.ID != first.ID {
			return time.Time{}, false
		}
	}
	return first.Manifest.Finished, true
}

// newestPassingDrill is when the newest passing drill of any of the backups finished: the
// drill records in the destinations outlive the server, so lifeboat_drill_last_success_*
// survives a restart (and covers drills run by a `lifeboat drill` CronJob).
func newestPassingDrill(backups []catalog.Backup) time.Time {
	var t time.Time
	for _, b := range backups {
		if d := b.LastPassingDrill(); d.After(t) {
			t = d
		}
	}
	return t
}
