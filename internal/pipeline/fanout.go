package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/ring"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// sink is one destination reading the shared ring through store.Put.
type sink struct {
	dest   Destination
	key    string
	rd     *ring.Reader
	cancel context.CancelFunc
	done   chan struct{}
	putErr error // set when done is closed
	failed error // first reason this sink was detached
	start  time.Time
}

// fanout writes one stream to every sink through one shared ring: each destination reads
// it at its own pace, S3 uploads its parts straight from it, and a sink that fails or
// stalls is detached while the others carry on. One bad destination must never block or
// fail the rest.
type fanout struct {
	ring  *ring.Ring
	sinks []*sink
}

// ringSize is the shared buffer for dests: at least DefaultRingSize, and what the
// destination that needs the most asks for (store.BufferNeeder: a part and a quarter for
// S3, which streams its parts; two chunks or blocks for GCS and Azure).
func ringSize(dests []Destination, configured int) int {
	size := configured
	if size <= 0 {
		size = DefaultRingSize
	}
	for _, d := range dests {
		if n, ok := d.Store.(store.BufferNeeder); ok && d.OpenErr == nil {
			size = max(size, int(n.BufferNeed()))
		}
	}
	return size
}

func startSinks(ctx context.Context, dests []Destination, key string, size int, stall time.Duration, clk clock.Clock) *fanout {
	f := &fanout{ring: ring.New(size, stall, clk)}
	for _, d := range dests {
		sctx, cancel := context.WithCancel(ctx)
		s := &sink{dest: d, key: key, cancel: cancel, done: make(chan struct{}), start: clk.Now()}
		f.sinks = append(f.sinks, s)
		if d.OpenErr != nil {
			// Never started: it stays in the results as failed, and the ring ignores it.
			s.failed = d.OpenErr
			close(s.done)
			continue
		}
		s.rd = f.ring.NewReader(sctx, "destination "+d.Name, cancel)
	}
	for _, s := range f.sinks {
		if s.rd == nil {
			continue
		}
		go func() {
			defer close(s.done)
			s.putErr = s.dest.Store.Put(s.rd.Context(), s.key, s.rd)
			if s.putErr != nil {
				s.rd.Detach(s.putErr)
			} else if err := s.rd.Finish(); err != nil {
				s.putErr = err
			}
		}()
	}
	return f
}

// errNoDestinationLeft stops reading the source once every destination has failed.
var errNoDestinationLeft = errors.New("every destination failed")

// Write copies p into the ring. It waits only while the slowest healthy destination is a
// whole ring behind.
func (f *fanout) Write(p []byte) (int, error) {
	n, err := f.ring.Write(p)
	if errors.Is(err, ring.ErrNoReader) {
		return n, errNoDestinationLeft
	}
	return n, err
}

// reason is why the sink failed, nil if it did not: the first reason the ring recorded
// (a stall, or the store's own error, which says what to fix) rather than what the
// upload saw after it was cut off.
func (s *sink) reason() error {
	if err := s.rd.Err(); err != nil {
		return err
	}
	return s.putErr
}

// abort makes every pending upload fail with cause, so no store commits the object.
func (f *fanout) abort(cause error) {
	f.ring.Abort(cause)
	for _, s := range f.sinks {
		s.cancel()
	}
	for _, s := range f.sinks {
		<-s.done
		if s.failed == nil && s.rd != nil {
			// A destination that had failed on its own keeps its reason: "every
			// destination failed" must not hide why each one did.
			if err := s.rd.Err(); err != nil && !errors.Is(err, cause) {
				s.failed = err
			}
		}
		if s.failed == nil {
			s.failed = cause
		}
	}
	f.ring.Free()
}

// finish signals end of stream and waits for every upload; failed ones are marked.
func (f *fanout) finish() {
	f.ring.Close()
	for _, s := range f.sinks {
		<-s.done
		if s.failed == nil {
			s.failed = s.reason()
		}
		s.cancel()
	}
	f.ring.Free()
}
