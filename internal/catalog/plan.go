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
	// LockedUntil is set when the rules would delete the backup but an object lock keeps
	// it until then (ApplyLocks); a prune after that deletes it.
	LockedUntil time.Time

	lockChecked bool // ApplyLocks asked the store already
}

// Reasons given by Plan besides the per-rule ones ("last 7", "daily 2026-11-20",
// "weekly 2026-W47", "monthly 2026-11", "within 30d", and "oldest daily 2026-11-20" for
// the oldest backup a rule keeps because it still had room; suspicious backups' reasons
// start with ReasonSuspicious, and backups of an older lineage get "previous lineage X: …").
const (
	ReasonNewest     = "newest backup (always kept)"
	ReasonNoPolicy   = "no retention rules (keep everything)"
	ReasonNotMatched = "not matched by any keep rule"
	ReasonSuspicious = "suspicious, counted apart: "
)

// PlanOptions are the one-off choices of an explicit prune.
type PlanOptions struct {
	// DropLineage deletes every backup of this lineage, unless it is the newest
	// backup's lineage (the newest backup is always kept).
	DropLineage string
}

// Plan applies p to backups (in any order) as of now and returns one decision per backup,
// newest first. It never decides to delete the newest backup. now is a parameter, not
// time.Now, so that retention is tested with a fixed clock.
//
// The rules count within the newest backup's lineage only: backups of another lineage
// (a cluster since re-initialised) are kept until p.MaxAgeOtherLineages or an explicit
// PlanOptions.DropLineage removes them. Suspicious backups are counted apart from the
// good ones, each group with the full rules, so a run of suspicious backups cannot push
// the good ones out.
func Plan(now time.Time, backups []Backup, p Policy) []Decision {
	return PlanWith(now, backups, p, PlanOptions{})
}

// PlanWith is Plan with the options of an explicit prune.
func PlanWith(now time.Time, backups []Backup, p Policy, o PlanOptions) []Decision {
	sorted := slices.Clone(backups)
	sortNewestFirst(sorted)
	decisions := make([]Decision, len(sorted))
	if len(sorted) == 0 {
		return decisions
	}
	current := lineageOf(sorted[0])
	var good, suspicious []int
	for i, b := range sorted {
		decisions[i].Backup = b
		l := lineageOf(b)
		switch {
		case i > 0 && o.DropLineage != "" && l == o.DropLineage && OtherLineage(l, current):
			decisions[i].Reasons = []string{"lineage " + l + " removed by `prune --lineage`"}
		case OtherLineage(l, current) && !p.MaxAgeOtherLineages.IsZero() && b.Created.Before(p.MaxAgeOtherLineages.Cutoff(now)):
			decisions[i].Reasons = []string{"previous lineage " + l + " older than maxAgeOtherLineages " + p.MaxAgeOtherLineages.String()}
		case OtherLineage(l, current):
			decisions[i].Keep = true
			decisions[i].Reasons = []string{"previous lineage " + l + ": kept until `lifeboat prune --lineage " + l +
				"` (or retention.maxAgeOtherLineages) removes it"}
		case b.Manifest != nil && b.Manifest.Suspicious != "":
			suspicious = append(suspicious, i)
		default:
			good = append(good, i)
		}
	}
	applyRules(now, sorted, good, p, decisions, "")
	applyRules(now, sorted, suspicious, p, decisions, ReasonSuspicious)
	if len(decisions[0].Reasons) == 0 {
		decisions[0].Reasons = []string{ReasonNewest}
	}
	for i := range decisions {
		d := &decisions[i]
		if d.Reasons == nil {
			d.Reasons = []string{ReasonNotMatched}
		} else if !d.Keep && i == 0 {
			d.Keep, d.Reasons = true, []string{ReasonNewest}
		}
	}
	return decisions
}

// applyRules decides the backups at idx (newest first) of sorted with p's rules.
func applyRules(now time.Time, sorted []Backup, idx []int, p Policy, decisions []Decision, prefix string) {
	buckets := p.buckets()
	for n, i := range idx {
		b := sorted[i]
		var reasons []string
		switch {
		case p.keepsCurrent():
			reasons = append(reasons, ReasonNoPolicy)
		case !p.KeepWithin.IsZero() && !b.Created.Before(p.KeepWithin.Cutoff(now)):
			reasons = append(reasons, "within "+p.KeepWithin.String())
		}
		oldest := n == len(idx)-1
		for _, bk := range buckets {
			if bk.count <= 0 {
				continue
			}
			switch k := bk.key(n, b.Created); {
			case k != bk.last:
				bk.last = k
				bk.count--
				reasons = append(reasons, bk.reason(k))
			case oldest:
				// Like restic's forget: a rule that still has room when the backups run
				// out also keeps the oldest one, so a young history is as long as it can be.
				bk.count--
				reasons = append(reasons, "oldest "+bk.reason(k))
			}
		}
		if len(reasons) > 0 {
			decisions[i].Keep = true
			for _, r := range reasons {
				decisions[i].Reasons = append(decisions[i].Reasons, prefix+r)
			}
		}
	}
}

func lineageOf(b Backup) string {
	if b.Manifest == nil {
		return ""
	}
	return b.Manifest.Lineage
}
