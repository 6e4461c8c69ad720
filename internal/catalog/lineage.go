package catalog

import (
	"fmt"
	"slices"
)

// DefaultSuspiciousShrink is the fraction of the last good backup's size below which a new
// backup is marked suspicious when a source does not set suspiciousShrink.
const DefaultSuspiciousShrink = 0.5

// Volume is the measure of a backup compared between runs to spot a drastic shrink: the
// raft state's bytes for Vault/OpenBao, the total row count for PostgreSQL. ok is false
// when the manifest does not record one.
func (m *Manifest) Volume() (n int64, unit string, ok bool) {
	switch {
	case m.Vault != nil && m.Vault.SnapshotSize > 0:
		return m.Vault.SnapshotSize, "raft state bytes", true
	case m.Postgres != nil && m.Postgres.TableRowCounts != nil:
		for _, c := range m.Postgres.TableRowCounts {
			n += c
		}
		return n, "rows", true
	}
	return 0, "", false
}

// OtherLineage reports whether a and b are known to come from different systems. An
// empty lineage (unknown) matches any, so backups of an older lifeboat never count as a
// lineage of their own.
func OtherLineage(a, b string) bool { return a != "" && b != "" && a != b }

// AssessOptions tune Assess.
type AssessOptions struct {
	// Shrink is the fraction of the last good backup's volume below which a backup is
	// suspicious; 0 disables the check.
	Shrink float64
	// AcceptShrink records this backup as good whatever its size: the operator says a
	// shrink was intended, and the backup becomes the reference for the next runs.
	AcceptShrink bool
}

// Assess compares m, a backup about to be committed, with the committed backups of the
// same source (in any order, from any destination) and marks it in place: NewLineage when
// its lineage differs from the newest backup's, Suspicious when its volume fell below
// opts.Shrink of the newest good (not suspicious) backup of the same lineage. The
// comparison is with the last GOOD backup, not the last one, so every backup of an
// emptied database stays suspicious until the data is back or the shrink is accepted, and
// none of them can push the good ones out. It returns one operator-facing warning per
// mark.
func Assess(m *Manifest, previous []Backup, opts AssessOptions) []string {
	var prev []*Manifest
	for _, b := range previous {
		if b.Manifest != nil && b.ID != m.ID {
			prev = append(prev, b.Manifest)
		}
	}
	if len(prev) == 0 {
		return nil
	}
	slices.SortStableFunc(prev, func(a, b *Manifest) int { return b.Created.Compare(a.Created) })
	var warnings []string
	if newest := prev[0]; OtherLineage(m.Lineage, newest.Lineage) {
		m.NewLineage, m.PreviousLineage = true, newest.Lineage
		warnings = append(warnings, fmt.Sprintf("new lineage %s: the newest earlier backup %s is of lineage %s, so the %s source "+
			"was re-initialised, replaced or restored from another system's backup. Both lineages are kept: retention counts "+
			"its rules within the new lineage only. If the change was intended, remove the old backups with "+
			"`lifeboat prune %s --lineage %s`; if not, restore backup %s", m.Lineage, newest.ID, newest.Lineage,
			m.Source.Name, m.Source.Name, newest.Lineage, newest.ID))
		return warnings
	}
	if opts.Shrink <= 0 || opts.AcceptShrink {
		return warnings
	}
	n, unit, ok := m.Volume()
	if !ok {
		return warnings
	}
	for _, ref := range prev {
		if ref.Suspicious != "" || OtherLineage(m.Lineage, ref.Lineage) {
			continue
		}
		r, refUnit, ok := ref.Volume()
		if !ok || refUnit != unit || r <= 0 {
			return warnings
		}
		if float64(n) < opts.Shrink*float64(r) {
			m.Suspicious = fmt.Sprintf("%s %d is below %g%% of the %d of the last good backup %s", unit, n, opts.Shrink*100, r, ref.ID)
			warnings = append(warnings, fmt.Sprintf("suspicious backup: %s. It is stored, but retention counts it apart so the "+
				"good backups stay. Check the %s source for lost data (restore backup %s if it is); if the shrink was intended, "+
				"run `lifeboat backup %s --accept-shrink` once to make the new size the reference", m.Suspicious, m.Source.Name, ref.ID, m.Source.Name))
		}
		return warnings
	}
	return warnings
}

// Attention says why the committed backups of one destination (in any order) need an
// operator, "" when they do not: the newest backup is suspicious (the data is still
// small), or backups of an older lineage are held back from retention. Status, health
// and lifeboat_backup_suspicious report it until a good backup, `backup --accept-shrink`
// or `prune --lineage` resolves it.
func Attention(backups []Backup) string {
	if len(backups) == 0 {
		return ""
	}
	sorted := slices.Clone(backups)
	sortNewestFirst(sorted)
	newest := sorted[0]
	if newest.Manifest == nil {
		return ""
	}
	if s := newest.Manifest.Suspicious; s != "" {
		return fmt.Sprintf("the newest backup %s is suspicious: %s (`lifeboat backup --help`)", newest.ID, s)
	}
	held := map[string]int{}
	var order []string
	for _, b := range sorted[1:] {
		if l := lineageOf(b); OtherLineage(l, newest.Manifest.Lineage) {
			if held[l] == 0 {
				order = append(order, l)
			}
			held[l]++
		}
	}
	if len(order) == 0 {
		return ""
	}
	return fmt.Sprintf("%d %s of previous lineage %s held back from retention (the cluster was re-initialised); "+
		"restore one, or remove them with `lifeboat prune %s --lineage %s`", held[order[0]], plural(held[order[0]]), order[0],
		newest.Manifest.Source.Name, order[0])
}

func plural(n int) string {
	if n == 1 {
		return "backup"
	}
	return "backups"
}
