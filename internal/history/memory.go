package history

import (
	"context"
	"fmt"
	"sync"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// Memory is a Store that forgets everything when the process ends (server.historyPath
// empty). Status and metrics still come back after a restart from the destinations'
// catalogs; only the run records are lost.
type Memory struct {
	limit int
	mu    sync.Mutex
	runs  map[string][]Run // by source, newest first
}

// NewMemory keeps up to limit runs per source (limit <= 0: unlimited).
func NewMemory(limit int) *Memory {
	return &Memory{limit: limit, runs: map[string][]Run{}}
}

func (m *Memory) Put(_ context.Context, r Run) error {
	r = clone(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	runs := m.runs[r.Source]
	replaced := false
	for i := range runs {
		if runs[i].ID == r.ID {
			runs[i], replaced = r, true
		}
	}
	if !replaced {
		runs = append(runs, r)
	}
	sortNewestFirst(runs)
	drop := map[string]bool{}
	for _, d := range overCap(runs, m.limit) {
		drop[d.ID] = true
	}
	kept := runs[:0]
	for _, x := range runs {
		if !drop[x.ID] {
			kept = append(kept, x)
		}
	}
	m.runs[r.Source] = kept
	return nil
}

func (m *Memory) Get(_ context.Context, id string) (Run, error) {
	source, _, err := catalog.ParseBackupID(id)
	if err != nil {
		return Run{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.runs[source] {
		if r.ID == id {
			return clone(r), nil
		}
	}
	return Run{}, fmt.Errorf("%w: %s", ErrNotFound, id)
}

func (m *Memory) List(_ context.Context, source string, limit int) ([]Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Run
	for s, runs := range m.runs {
		if source == "" || s == source {
			for _, r := range runs {
				out = append(out, clone(r))
			}
		}
	}
	sortNewestFirst(out)
	return truncate(out, limit), nil
}

func (m *Memory) Close() error { return nil }

// clone keeps callers from changing stored records through shared slices.
func clone(r Run) Run {
	d := make([]Destination, len(r.Destinations))
	copy(d, r.Destinations)
	r.Destinations = d
	return r
}
