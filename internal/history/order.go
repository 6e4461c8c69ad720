package history

import (
	"cmp"
	"slices"
)

// sortNewestFirst orders by start time, then id: two runs can start within the second
// a backup id records.
func sortNewestFirst(runs []Run) {
	slices.SortStableFunc(runs, func(a, b Run) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

// overCap returns the runs beyond the newest limit of one source's runs (sorted newest
// first). A running run is never dropped: its record must be there to be finished.
func overCap(runs []Run, limit int) []Run {
	if limit <= 0 || len(runs) <= limit {
		return nil
	}
	var drop []Run
	for _, r := range runs[limit:] {
		if !r.Running() {
			drop = append(drop, r)
		}
	}
	return drop
}

func truncate(runs []Run, limit int) []Run {
	if limit > 0 && len(runs) > limit {
		return runs[:limit]
	}
	return runs
}
