// Package clock is lifeboat's one source of time. Schedules, stall timeouts, run times and
// retention are time logic; tests drive them with clocktest's fake clock instead of
// waiting for real minutes.
package clock

import "time"

// Clock tells the time and arms timers.
type Clock interface {
	Now() time.Time
	// Timer fires once after d, like time.NewTimer; stop releases it early and reports
	// whether it did so before the timer fired.
	Timer(d time.Duration) (c <-chan time.Time, stop func() bool)
	// AfterFunc calls f in its own goroutine after d, like time.AfterFunc; stop is as for
	// Timer. It lets a watchdog give up on a blocked call without a goroutine of its own.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Real is the wall clock, in UTC: schedules, backup ids and manifests are UTC.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now().UTC() }

func (realClock) Timer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Or is c, or Real when c is nil, so a nil Clock field means the wall clock.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}
