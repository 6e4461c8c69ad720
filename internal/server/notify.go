package server

import (
	"context"
	"strings"
	"sync"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/notify"
)

// Notifications from serve: a finished run (with recovery judged from the history), a
// failed scheduled drill, damaged copies a listing finds and a verification over the
// API. Deliveries run beside the work they report on, so a receiver that is down never
// holds a source busy; Shutdown waits for them (notify.Retry bounds each).

// previousStatus is the status of the source's last finished run other than runID, ""
// when the history holds none.
func (s *Server) previousStatus(ctx context.Context, source, runID string) string {
	if !s.notify.Wants(config.EventRecovery) {
		return ""
	}
	runs, err := s.hist.List(ctx, source, 0)
	if err != nil {
		s.log.Warn("could not read the history to tell a recovery", "source", source, "err", err)
		return ""
	}
	for _, r := range runs {
		if r.ID != runID && !r.Running() {
			return r.Status
		}
	}
	return ""
}

// sendAsync delivers n in the background, tracked with the runs so that Shutdown waits.
func (s *Server) sendAsync(n notify.Notice) {
	if s.notify == nil || len(n.Events) == 0 {
		return
	}
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		s.notify.Send(context.WithoutCancel(s.runCtx), n)
	}()
}

// damagedSeen remembers the damaged copies already notified per source, so a copy is
// announced once per process rather than at every listing (a restart announces the
// copies that are still damaged again).
type damagedSeen struct {
	mu       sync.Mutex
	bySource map[string]map[string]bool
}

// notifyDamaged sends damaged-copy for the copies of inv that earlier listings did not
// have damaged.
func (s *Server) notifyDamaged(inv *inventory.Inventory) {
	if !s.notify.Wants(config.EventDamagedCopy) {
		return
	}
	s.damaged.mu.Lock()
	if s.damaged.bySource == nil {
		s.damaged.bySource = map[string]map[string]bool{}
	}
	seen, now := s.damaged.bySource[inv.Source], map[string]bool{}
	var fresh []inventory.Damaged
	for _, d := range inv.AllDamaged() {
		key := d.Destination + "/" + d.ID
		now[key] = true
		if !seen[key] {
			fresh = append(fresh, d)
		}
	}
	// Destinations that could not be listed say nothing about their copies: keep what
	// was seen there, so the copies are not announced again once they answer.
	for _, l := range inv.Listings {
		if l.Err == nil {
			continue
		}
		for key := range seen {
			if strings.HasPrefix(key, l.Name+"/") {
				now[key] = true
			}
		}
	}
	s.damaged.bySource[inv.Source] = now
	s.damaged.mu.Unlock()
	s.sendAsync(notify.ForCopies(inv.Source, notify.DamagedCopies(fresh)))
}

// notifyRun sends the notifications of a finished run.
func (s *Server) notifyRun(done history.Run, previous string) {
	s.sendAsync(notify.ForRun(done, previous))
}

// notifyInterrupted sends failure for the runs a previous process left running: nobody
// was told when it stopped.
func (s *Server) notifyInterrupted(closed []history.Run) {
	for _, r := range closed {
		s.sendAsync(notify.ForRun(r, ""))
	}
}
