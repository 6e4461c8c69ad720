package pipeline

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
)

// stallGuard gives up on a source that sends nothing for too long — a hung Vault leader or
// a dead TCP connection would otherwise hold the run (and the schedule) forever. The clock
// only runs while lifeboat waits on the source, never while slow destinations hold it up.
type stallGuard struct {
	r       io.ReadCloser
	d       time.Duration
	clock   clock.Clock
	stalled atomic.Bool
}

func newStallGuard(r io.ReadCloser, d time.Duration, clk clock.Clock) *stallGuard {
	return &stallGuard{r: r, d: d, clock: clk}
}

func (g *stallGuard) Read(p []byte) (int, error) {
	stop := g.clock.AfterFunc(g.d, func() {
		g.stalled.Store(true)
		g.r.Close() // unblocks the pending Read
	})
	n, err := g.r.Read(p)
	stop()
	if err != nil && g.stalled.Load() {
		err = fmt.Errorf("the source sent no data for %s and was abandoned (is the server hung or the network down?)", g.d)
	}
	return n, err
}
