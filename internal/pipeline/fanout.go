package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
)

// sink is one destination receiving the data stream through a pipe into store.Put.
type sink struct {
	dest   Destination
	key    string
	pr     *io.PipeReader
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{}
	putErr error // set when done is closed
	failed error // first reason this sink was detached
	start  time.Time
}

// fanout writes one stream to every sink. A sink that fails or stalls is detached and the
// others carry on: one bad destination must never block or fail the rest.
type fanout struct {
	sinks []*sink
	stall time.Duration
	clock clock.Clock
}

func startSinks(ctx context.Context, dests []Destination, key string, stall time.Duration, clk clock.Clock) *fanout {
	f := &fanout{stall: stall, clock: clk}
	for _, d := range dests {
		sctx, cancel := context.WithCancel(ctx)
		pr, pw := io.Pipe()
		s := &sink{dest: d, key: key, pr: pr, pw: pw, cancel: cancel, done: make(chan struct{}), start: clk.Now()}
		f.sinks = append(f.sinks, s)
		if d.OpenErr != nil {
			// Never started: it stays in the results as failed, and writers skip it.
			s.failed = d.OpenErr
			close(s.done)
			continue
		}
		go func() {
			defer close(s.done)
			s.putErr = d.Store.Put(sctx, key, pr)
			// If Put returned before reading everything, writers must not block forever.
			if s.putErr != nil {
				pr.CloseWithError(s.putErr)
			} else {
				pr.CloseWithError(errors.New("destination finished the upload before the end of the stream"))
			}
		}()
	}
	return f
}

func (f *fanout) live() []*sink {
	var out []*sink
	for _, s := range f.sinks {
		if s.failed == nil {
			out = append(out, s)
		}
	}
	return out
}

// errNoDestinationLeft stops reading the source once every destination has failed.
var errNoDestinationLeft = errors.New("every destination failed")

// Write hands p to every live sink concurrently and waits for all of them, so memory use
// is one buffer whatever the artifact size, and the slowest healthy destination sets the
// pace.
func (f *fanout) Write(p []byte) (int, error) {
	live := f.live()
	if len(live) == 0 {
		return 0, errNoDestinationLeft
	}
	var wg sync.WaitGroup
	for _, s := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.writeOne(s, p); err != nil {
				s.failed = err
			}
		}()
	}
	wg.Wait()
	if len(f.live()) == 0 {
		return 0, errNoDestinationLeft
	}
	return len(p), nil
}

func (f *fanout) writeOne(s *sink, p []byte) error {
	written := make(chan error, 1)
	go func() {
		_, err := s.pw.Write(p)
		written <- err
	}()
	var timeout <-chan time.Time
	if f.stall > 0 {
		c, stop := f.clock.Timer(f.stall)
		defer stop()
		timeout = c
	}
	select {
	case err := <-written:
		if err != nil {
			<-s.done
			return s.reason(err)
		}
		return nil
	case <-timeout:
		err := fmt.Errorf("destination %s accepted no data for %s; detached it (is the endpoint hanging?)", s.dest.Name, f.stall)
		s.cancel()
		s.pr.CloseWithError(err)
		<-written
		return err
	}
}

// reason prefers the store's own error (it says what to fix) over the pipe's.
func (s *sink) reason(fallback error) error {
	if s.putErr != nil {
		return s.putErr
	}
	return fallback
}

// abort makes every pending upload fail with cause, so no store commits the object.
func (f *fanout) abort(cause error) {
	for _, s := range f.sinks {
		s.pw.CloseWithError(cause)
		s.cancel()
	}
	for _, s := range f.sinks {
		<-s.done
		if s.failed == nil {
			s.failed = cause
		}
	}
}

// finish signals end of stream and waits for every upload; failed ones are marked.
func (f *fanout) finish() {
	for _, s := range f.live() {
		s.pw.Close()
	}
	for _, s := range f.sinks {
		<-s.done
		if s.failed == nil && s.putErr != nil {
			s.failed = s.putErr
		}
		s.cancel()
	}
}
