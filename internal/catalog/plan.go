package catalog

import (
	"slices"
	"time"
)

// Decision is what Plan decided for one backup, with the rules that decided it, so that
// `prune --dry-run` can show operators why each backup stays or goes.
type Decision struct {
	Backup  Backup
	Keep    bool
	Reasons []string
}

// Reasons given by Plan besides the per-rule ones ("last 7", "daily 2026-11-20",
// "weekly 2026-W47", "monthly 2026-11", "within 30d", and "oldest daily 2026-11-20" for
// the oldest backup a rule keeps because it still had room).
const (
	ReasonNewest     = "newest backup (always kept)"
	ReasonNoPolicy   = "no retention rules (keep everything)"
	ReasonNotMatched = "not matched by any keep rule"
)

// Plan applies p to backups (in any order) as of now and returns one decision per backup,
// newest first. It never decides to delete the newest backup. now is a parameter, not
// time.Now, so that retention is tested with a fixed clock.
func Plan(now time.Time, backups []Backup, p Policy) []Decision {
	sorted := slices.Clone(backups)
	sortNewestFirst(sorted)
	decisions := make([]Decision, len(sorted))
	buckets := p.buckets()
	for i, b := range sorted {
		d := Decision{Backup: b}
		switch {
		case p.KeepsEverything():
			d.Reasons = append(d.Reasons, ReasonNoPolicy)
		case !p.KeepWithin.IsZero() && !b.Created.Before(p.KeepWithin.Cutoff(now)):
			d.Reasons = append(d.Reasons, "within "+p.KeepWithin.String())
		}
		oldest := i == len(sorted)-1
		for _, bk := range buckets {
			if bk.count <= 0 {
				continue
			}
			switch k := bk.key(i, b.Created); {
			case k != bk.last:
				bk.last = k
				bk.count--
				d.Reasons = append(d.Reasons, bk.reason(k))
			case oldest:
				// Like restic's forget: a rule that still has room when the backups run
				// out also keeps the oldest one, so a young history is as long as it can be.
				bk.count--
				d.Reasons = append(d.Reasons, "oldest "+bk.reason(k))
			}
		}
		if i == 0 && len(d.Reasons) == 0 {
			d.Reasons = append(d.Reasons, ReasonNewest)
		}
		d.Keep = len(d.Reasons) > 0
		if !d.Keep {
			d.Reasons = []string{ReasonNotMatched}
		}
		decisions[i] = d
	}
	return decisions
}
