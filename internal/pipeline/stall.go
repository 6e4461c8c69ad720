package pipeline

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// stallGuard gives up on a source that sends nothing for too long — a hung Vault leader or
// a dead TCP connection would otherwise hold the run (and the schedule) forever. The clock
// only runs while lifeboat waits on the source, never while slow destinations hold it up.
type stallGuard struct {
	r       io.ReadCloser
	d       time.Duration
	timer   *time.Timer
	stalled atomic.Bool
}

func newStallGuard(r io.ReadCloser, d time.Duration) *stallGuard {
	g := &stallGuard{r: r, d: d}
	g.timer = time.AfterFunc(time.Hour, func() {
		g.stalled.Store(true)
		r.Close() // unblocks the pending Read
	})
	g.timer.Stop()
	return g
}

func (g *stallGuard) Read(p []byte) (int, error) {
	g.timer.Reset(g.d)
	n, err := g.r.Read(p)
	g.timer.Stop()
	if err != nil && g.stalled.Load() {
		err = fmt.Errorf("the source sent no data for %s and was abandoned (is the server hung or the network down?)", g.d)
	}
	return n, err
}
