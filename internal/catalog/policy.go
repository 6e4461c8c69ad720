package catalog

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Policy says which backups of one source a destination keeps. It follows restic's
// `forget`: each keepX keeps the newest backup of each of the X most recent calendar
// buckets (day, ISO week, month; all in UTC) that have a backup; buckets without backups
// do not count. A rule that still has room after the last bucket also keeps the oldest
// backup, so a history younger than the rule keeps its start. A backup is kept when any
// rule keeps it.
//
// The zero Policy keeps everything: a destination without retention never loses data.
// Whatever the policy, the newest backup is always kept.
type Policy struct {
	KeepLast int `json:"keepLast,omitempty"`
	// KeepWithin keeps every backup created within this age before NOW. restic measures
	// it from the newest snapshot instead; we measure from now because operators read
	// "30d" as "the last 30 days", and because a source that stopped backing up should
	// not keep stale backups forever under a rule meant to bound age. The
	// always-keep-newest guarantee covers the stopped-source case.
	KeepWithin  Age `json:"keepWithin,omitzero"`
	KeepDaily   int `json:"keepDaily,omitempty"`
	KeepWeekly  int `json:"keepWeekly,omitempty"`
	KeepMonthly int `json:"keepMonthly,omitempty"`
	// MaxAgeOtherLineages lets retention delete backups of an older lineage (a cluster
	// that was since re-initialised) once they are older than this. Unset, they are kept
	// until `lifeboat prune --lineage` removes them.
	MaxAgeOtherLineages Age `json:"maxAgeOtherLineages,omitzero"`
}

// keepsCurrent reports whether p has no rule for the newest lineage's backups.
func (p Policy) keepsCurrent() bool {
	p.MaxAgeOtherLineages = Age{}
	return p.KeepsEverything()
}

// KeepsEverything reports whether p has no rule at all, in which case nothing is deleted.
func (p Policy) KeepsEverything() bool { return p == Policy{} }

// Validate rejects negative counts (restic's -1 for "unlimited" is not supported:
// leave every rule out to keep everything).
func (p Policy) Validate() error {
	var errs []error
	for _, f := range p.counts() {
		if f.n < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative (got %d)", f.name, f.n))
		}
	}
	return errors.Join(errs...)
}

// String lists the rules that are set, e.g. "keepLast=7 keepWithin=30d".
func (p Policy) String() string {
	var parts []string
	if p.KeepLast != 0 {
		parts = append(parts, fmt.Sprintf("keepLast=%d", p.KeepLast))
	}
	if !p.KeepWithin.IsZero() {
		parts = append(parts, "keepWithin="+p.KeepWithin.String())
	}
	for _, f := range p.counts()[1:] {
		if f.n != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", f.name, f.n))
		}
	}
	if !p.MaxAgeOtherLineages.IsZero() {
		parts = append(parts, "maxAgeOtherLineages="+p.MaxAgeOtherLineages.String())
	}
	if len(parts) == 0 {
		return "keep everything"
	}
	return strings.Join(parts, " ")
}

type namedCount struct {
	name string
	n    int
}

func (p Policy) counts() []namedCount {
	return []namedCount{
		{"keepLast", p.KeepLast}, {"keepDaily", p.KeepDaily},
		{"keepWeekly", p.KeepWeekly}, {"keepMonthly", p.KeepMonthly},
	}
}

// bucket is one count-limited rule: it keeps the newest backup of each new bucket key it
// sees (walking newest first) until its count runs out.
type bucket struct {
	count  int
	key    func(i int, t time.Time) string
	reason func(key string) string
	last   string
}

func (p Policy) buckets() []*bucket {
	return []*bucket{
		{count: p.KeepLast,
			key:    func(i int, _ time.Time) string { return fmt.Sprint(i) },
			reason: func(string) string { return fmt.Sprintf("last %d", p.KeepLast) }},
		{count: p.KeepDaily,
			key:    func(_ int, t time.Time) string { return t.UTC().Format("2006-01-02") },
			reason: func(k string) string { return "daily " + k }},
		{count: p.KeepWeekly,
			key: func(_ int, t time.Time) string {
				y, w := t.UTC().ISOWeek()
				return fmt.Sprintf("%04d-W%02d", y, w)
			},
			reason: func(k string) string { return "weekly " + k }},
		{count: p.KeepMonthly,
			key:    func(_ int, t time.Time) string { return t.UTC().Format("2006-01") },
			reason: func(k string) string { return "monthly " + k }},
	}
}
