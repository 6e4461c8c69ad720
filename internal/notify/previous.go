package notify

import (
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/inventory"
)

// Previous judges how the source's run before the run runID (started at started) ended,
// for a one-shot run that has no history: from what the destinations hold, the way
// `lifeboat status` judges a source without a server. inv is a listing taken after the
// run. It says
//   - "partial" when a destination lacks the newest earlier backup although it should
//     hold it (inventory.Missing): that run failed there;
//   - "failed" when the source has a schedule (interval, jitter) and the newest earlier
//     backup is older than one and a half intervals plus the jitter: at least one
//     scheduled run in between committed nothing;
//   - "ok" otherwise, and "" when there is no earlier backup (a first backup is no
//     recovery).
//
// A run that failed everywhere leaves nothing behind, so a failure shorter than the
// stale limit followed by a success is not reported as a recovery here; `serve`, which
// keeps a history, reports every one (docs/notifications.md).
func Previous(inv *inventory.Inventory, runID string, started time.Time, interval, jitter time.Duration) string {
	if inv == nil {
		return ""
	}
	var prevID string
	var prevCreated time.Time
	for _, l := range inv.Listings {
		for _, b := range l.Backups {
			if b.ID != runID && b.Created.Before(started) && b.Created.After(prevCreated) {
				prevID, prevCreated = b.ID, b.Created
			}
		}
	}
	switch {
	case prevID == "":
		return ""
	case len(inv.Missing(prevID)) > 0:
		return "partial"
	case interval > 0 && started.Sub(prevCreated) > interval+interval/2+jitter:
		return "failed"
	}
	return "ok"
}
