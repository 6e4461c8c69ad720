package clocktest

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)

func TestTimersFireWhenDue(t *testing.T) {
	c := New(t0)
	early, _ := c.Timer(time.Minute)
	late, _ := c.Timer(time.Hour)
	fired := make(chan struct{})
	c.AfterFunc(30*time.Second, func() { close(fired) })
	c.BlockUntil(t, 3)

	c.Advance(time.Minute)
	if got := <-early; !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("timer fired at %s", got)
	}
	<-fired
	select {
	case <-late:
		t.Fatal("the hour timer fired after a minute")
	default:
	}
	if c.Pending() != 1 || !c.Now().Equal(t0.Add(time.Minute)) {
		t.Fatalf("pending %d, now %s", c.Pending(), c.Now())
	}
	c.Advance(time.Hour)
	<-late
}

func TestStopReportsWhetherItPreventedTheFire(t *testing.T) {
	c := New(t0)
	_, stop := c.Timer(time.Minute)
	calls := 0
	stopFunc := c.AfterFunc(time.Minute, func() { calls++ })
	if !stop() || stop() || !stopFunc() {
		t.Fatal("the first stop of a pending timer must report true, the next false")
	}
	c.BlockUntilStopped(t, 2)
	c.Advance(time.Hour)
	if calls != 0 || c.Pending() != 0 {
		t.Fatalf("a stopped timer fired: %d calls, %d pending", calls, c.Pending())
	}

	ch, stop := c.Timer(time.Second)
	c.Advance(time.Second)
	<-ch
	if stop() {
		t.Fatal("stop after the fire reported true")
	}
}

func TestZeroDurationFiresAtOnce(t *testing.T) {
	c := New(t0)
	ch, _ := c.Timer(0)
	if got := <-ch; !got.Equal(t0) {
		t.Fatalf("fired at %s", got)
	}
}

// BlockUntil returns once another goroutine arms the timers it waits for.
func TestBlockUntilWaitsForOtherGoroutines(t *testing.T) {
	c := New(t0)
	done := make(chan time.Time)
	go func() {
		ch, _ := c.Timer(time.Minute)
		done <- <-ch
	}()
	c.BlockUntil(t, 1)
	c.Advance(time.Minute)
	if got := <-done; !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("fired at %s", got)
	}
}
