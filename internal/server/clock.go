package server

import "time"

// Clock is the server's time source. Schedules, RPO ages and baselines are time logic;
// tests drive them with a fake clock instead of waiting for real minutes.
type Clock interface {
	Now() time.Time
	// Timer fires once after d, like time.NewTimer; stop releases it early.
	Timer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// RealClock is the wall clock, in UTC (schedules are UTC).
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now().UTC() }

func (RealClock) Timer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
