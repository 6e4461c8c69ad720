// Package clocktest is a fake clock.Clock that moves only when a test advances it.
package clocktest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
)

// waitLimit bounds the Block* helpers: a test whose code never arms the timer it expects
// fails instead of hanging until the package's test timeout.
const waitLimit = 10 * time.Second

// Clock is a fake clock, safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*timer
	stopped int
	changed chan struct{} // closed and replaced whenever a timer is armed, stopped or fired
}

var _ clock.Clock = (*Clock)(nil)

type timer struct {
	at time.Time
	c  chan time.Time // for Timer
	f  func()         // for AfterFunc
}

// New returns a fake clock that reads t0 until advanced.
func New(t0 time.Time) *Clock {
	return &Clock{now: t0, changed: make(chan struct{})}
}

// Now is the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Timer arms a timer that fires when Advance reaches now+d (at once when d <= 0).
func (c *Clock) Timer(d time.Duration) (<-chan time.Time, func() bool) {
	t := &timer{c: make(chan time.Time, 1)}
	return t.c, c.arm(t, d)
}

// AfterFunc arms a timer that calls f in its own goroutine when Advance reaches now+d
// (at once when d <= 0).
func (c *Clock) AfterFunc(d time.Duration, f func()) func() bool {
	return c.arm(&timer{f: f}, d)
}

func (c *Clock) arm(t *timer, d time.Duration) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.at = c.now.Add(d)
	if d <= 0 {
		t.fire(c.now)
	} else {
		c.pending = append(c.pending, t)
	}
	c.notify()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.pending, t)
		if i < 0 {
			return false
		}
		c.pending = slices.Delete(c.pending, i, i+1)
		c.stopped++
		c.notify()
		return true
	}
}

func (t *timer) fire(now time.Time) {
	if t.f != nil {
		go t.f()
		return
	}
	t.c <- now
}

func (c *Clock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock by d and fires, in deadline order, every timer that is due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	slices.SortStableFunc(c.pending, func(a, b *timer) int { return a.at.Compare(b.at) })
	kept := c.pending[:0]
	for _, t := range c.pending {
		if t.at.After(c.now) {
			kept = append(kept, t)
		} else {
			t.fire(c.now)
		}
	}
	clear(c.pending[len(kept):])
	c.pending = kept
	c.notify()
}

// Pending is how many timers wait to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// BlockUntil waits until at least n timers are pending, so a test advances the clock only
// once the code under test waits on it.
func (c *Clock) BlockUntil(t testing.TB, n int) {
	t.Helper()
	c.waitFor(t, func() bool { return len(c.pending) >= n }, "%d pending timers", n)
}

// BlockUntilStopped waits until at least n timers have been stopped before they fired.
// Code that arms a timer per operation stops it when the operation completes, so this
// tells a test that n operations finished in time.
func (c *Clock) BlockUntilStopped(t testing.TB, n int) {
	t.Helper()
	c.waitFor(t, func() bool { return c.stopped >= n }, "%d stopped timers", n)
}

// waitFor waits until cond, called with c.mu held, holds.
func (c *Clock) waitFor(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		c.mu.Lock()
		ok, changed := cond(), c.changed
		pending, stopped := len(c.pending), c.stopped
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("clocktest: timed out waiting for "+format+" (%d pending, %d stopped)", append(args, pending, stopped)...)
		}
	}
}
