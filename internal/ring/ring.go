// Package ring is the one buffer a backup passes through on its way to every destination.
// The stream is written once into a fixed ring of bytes; each destination reads it at its
// own pace, either by copying (io.Reader) or by holding sections of it in place while it
// uploads them (store.SectionReader). The writer waits only when the slowest live reader
// is a whole ring behind, so uploads overlap the read and with each other, and memory is
// the ring whatever the number of destinations or the size of the stream.
//
// A reader that fails is detached: the ring stops waiting for it and the others go on. A
// reader that has data waiting but takes none of it for the stall timeout is detached
// too, so a hanging endpoint cannot hold the others.
package ring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// ErrNoReader is returned by Write once every reader has been detached.
var ErrNoReader = errors.New("every reader of the stream failed")

// Ring is a bounded buffer with one writer and several readers.
type Ring struct {
	buf   []byte
	size  int64
	stall time.Duration
	clock clock.Clock

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change; waiters select on it
	written int64         // bytes written so far (absolute offset of the next byte)
	closed  bool          // the writer has finished
	aborted error         // the writer gave up: readers fail at once, whatever is left
	blocked bool          // the writer is waiting for room
	freed   bool
	readers []*Reader
}

// New makes a ring of size bytes. A reader that has data waiting and takes none for stall
// is detached (0 disables that); clk drives the stall timers.
func New(size int, stall time.Duration, clk clock.Clock) *Ring {
	return &Ring{buf: alloc(size), size: int64(size), stall: stall, clock: clock.Or(clk), changed: make(chan struct{})}
}

// Free gives the ring's memory back for the next ring of its size. Call it once every
// reader is done (finished or detached) and nothing writes any more.
func (r *Ring) Free() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.freed {
		r.freed = true
		free(r.buf)
	}
}

// Size is the ring's capacity in bytes.
func (r *Ring) Size() int64 { return r.size }

// broadcastLocked wakes every waiter; r.mu is held.
func (r *Ring) broadcastLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// lowWaterLocked is the oldest byte a live reader still needs: the writer may not
// overwrite it. With no live reader it is the write position.
func (r *Ring) lowWaterLocked() int64 {
	low := r.written
	for _, rd := range r.readers {
		if rd.live() {
			low = min(low, rd.lowWater())
		}
	}
	return low
}

func (r *Ring) anyLiveLocked() bool {
	for _, rd := range r.readers {
		if rd.live() {
			return true
		}
	}
	return false
}

// Write copies p into the ring, waiting for room while the slowest live reader is a whole
// ring behind. It fails with ErrNoReader once every reader is detached.
func (r *Ring) Write(p []byte) (int, error) {
	var n int
	for len(p) > 0 {
		r.mu.Lock()
		var free int64
		for {
			if r.closed || r.aborted != nil {
				r.mu.Unlock()
				return n, errors.New("ring: write after close")
			}
			if !r.anyLiveLocked() {
				r.mu.Unlock()
				return n, ErrNoReader
			}
			if free = r.size - (r.written - r.lowWaterLocked()); free > 0 {
				break
			}
			ch := r.changed
			r.blocked = true
			r.mu.Unlock()
			<-ch
			r.mu.Lock()
			r.blocked = false
		}
		start := r.written
		r.mu.Unlock()

		// [start, start+chunk) is free: no reader may look at it until written moves.
		off := start % r.size
		chunk := min(int64(len(p)), free, r.size-off)
		copy(r.buf[off:off+chunk], p[:chunk])

		r.mu.Lock()
		r.written += chunk
		for _, rd := range r.readers {
			rd.armLocked()
		}
		r.broadcastLocked()
		r.mu.Unlock()
		p, n = p[chunk:], n+int(chunk)
	}
	return n, nil
}

// Close ends the stream: readers get what is left, then io.EOF.
func (r *Ring) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.broadcastLocked()
	return nil
}

// Abort ends the stream with cause: every reader fails with it at once, so no store
// commits what it has.
func (r *Ring) Abort(cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.aborted == nil {
		r.aborted = cause
	}
	for _, rd := range r.readers {
		rd.disarmLocked()
	}
	r.broadcastLocked()
}

// copyOut copies the bytes at absolute offsets [from, from+len(p)) out of the ring; the
// caller guarantees they are written and not yet reusable.
func (r *Ring) copyOut(p []byte, from int64) {
	for len(p) > 0 {
		off := from % r.size
		n := copy(p, r.buf[off:min(r.size, off+int64(len(p)))])
		p, from = p[n:], from+int64(n)
	}
}

// Reader is one consumer of the stream: a destination.
type Reader struct {
	r      *Ring
	ctx    context.Context
	name   string
	onStop func() // called (once, without the lock) when the ring detaches the reader

	// under r.mu
	cursor   int64         // next byte to hand out
	holds    map[any]int64 // unreleased sections and their start
	detached error         // why the ring stopped waiting for this reader
	finished bool          // the reader is done (Finish or Detach)
	waiting  bool          // in Read or NextSection, waiting for the writer
	armed    bool
	stopWd   func() bool

	gone     atomic.Bool  // detached or finished: held bytes may be reused
	progress atomic.Int64 // clock time (UnixNano) of the reader's last progress
}

var _ store.SectionReader = (*Reader)(nil)

// NewReader adds a reader named for messages ("destination s3-main"). ctx ends its waits;
// onStall, if not nil, is called when the ring detaches it for stalling (cancel its
// upload there). Readers must be added before the first Write.
func (r *Ring) NewReader(ctx context.Context, name string, onStall func()) *Reader {
	rd := &Reader{r: r, ctx: ctx, name: name, onStop: onStall, holds: map[any]int64{}}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readers = append(r.readers, rd)
	return rd
}

// Context is the reader's context: the one its waits end with.
func (rd *Reader) Context() context.Context { return rd.ctx }

func (rd *Reader) live() bool { return rd.detached == nil && !rd.finished }

func (rd *Reader) lowWater() int64 {
	low := rd.cursor
	for _, start := range rd.holds {
		low = min(low, start)
	}
	return low
}

// pendingLocked: the reader has bytes it has not taken, or sections it has not released.
func (rd *Reader) pendingLocked() bool {
	return rd.live() && rd.r.aborted == nil && (rd.cursor < rd.r.written || len(rd.holds) > 0)
}

// stalledLocked: the reader holds things up. Waiting for the writer (a slow source) is
// not stalling, nor is holding sections while the writer has room: only bytes waiting
// that it does not take, or sections it holds while the writer waits for them or the
// stream has ended.
func (rd *Reader) stalledLocked() bool {
	r := rd.r
	switch {
	case rd.cursor < r.written && !rd.waiting:
		return true
	case len(rd.holds) > 0 && r.closed:
		return true
	case len(rd.holds) > 0 && r.blocked && rd.lowWater() == r.lowWaterLocked():
		return true
	}
	return false
}

func (rd *Reader) touch() { rd.progress.Store(rd.r.clock.Now().UnixNano()) }

// armLocked starts the stall watchdog when the reader has something waiting for it.
func (rd *Reader) armLocked() {
	if rd.r.stall <= 0 || rd.armed || !rd.pendingLocked() {
		return
	}
	rd.armed = true
	rd.touch()
	rd.stopWd = rd.r.clock.AfterFunc(rd.r.stall, rd.watch)
}

func (rd *Reader) disarmLocked() {
	if rd.armed {
		rd.armed = false
		rd.stopWd()
	}
}

// watch runs when the watchdog fires: a reader that made progress meanwhile gets the
// rest of its stall time; one that made none, and still has something pending, is
// detached.
func (rd *Reader) watch() {
	r := rd.r
	r.mu.Lock()
	if !rd.armed {
		r.mu.Unlock()
		return
	}
	rd.armed = false
	if !rd.pendingLocked() {
		r.mu.Unlock()
		return
	}
	idle := r.clock.Now().Sub(time.Unix(0, rd.progress.Load()))
	if idle < r.stall || !rd.stalledLocked() {
		rd.armed = true
		rd.stopWd = r.clock.AfterFunc(max(r.stall-idle, r.stall/4), rd.watch)
		r.mu.Unlock()
		return
	}
	rd.detachLocked(fmt.Errorf("%s accepted no data for %s; detached it (is the endpoint hanging?)", rd.name, r.stall))
	r.mu.Unlock()
	if rd.onStop != nil {
		rd.onStop()
	}
}

func (rd *Reader) detachLocked(err error) {
	if rd.detached == nil && !rd.finished {
		rd.detached = err
	}
	rd.holds = map[any]int64{}
	rd.gone.Store(true)
	rd.disarmLocked()
	rd.r.broadcastLocked()
}

// Detach tells the ring to stop waiting for this reader (its upload failed); err is kept
// as the reason unless the ring detached it first.
func (rd *Reader) Detach(err error) {
	rd.r.mu.Lock()
	defer rd.r.mu.Unlock()
	rd.detachLocked(err)
}

// Finish marks the reader done. It returns an error if the reader stopped before the
// end of the stream, the ring's reason if it was detached.
func (rd *Reader) Finish() error {
	r := rd.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if rd.detached != nil {
		return rd.detached
	}
	var err error
	if !r.closed || rd.cursor < r.written {
		err = errors.New("the upload finished before the end of the stream")
		rd.detached = err
	}
	rd.finished = true
	rd.gone.Store(true)
	rd.holds = map[any]int64{}
	rd.disarmLocked()
	r.broadcastLocked()
	return err
}

// Err is why the reader was detached, nil if it was not.
func (rd *Reader) Err() error {
	rd.r.mu.Lock()
	defer rd.r.mu.Unlock()
	return rd.detached
}

// waitLocked waits (r.mu held, released while waiting) until ready says so, the reader
// is detached, the ring aborted, or the reader's context or ctx ends.
func (rd *Reader) waitLocked(ctx context.Context, ready func() bool) error {
	r := rd.r
	for {
		switch {
		case rd.detached != nil:
			return rd.detached
		case r.aborted != nil:
			return r.aborted
		case ready():
			return nil
		}
		ch := r.changed
		rd.waiting = true
		r.mu.Unlock()
		var err error
		select {
		case <-ch:
		case <-rd.ctx.Done():
			err = rd.ctx.Err()
		case <-ctx.Done():
			err = ctx.Err()
		}
		r.mu.Lock()
		rd.waiting = false
		if err != nil {
			return err
		}
	}
}

// Read copies the next bytes of the stream into p.
func (rd *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r := rd.r
	r.mu.Lock()
	if err := rd.waitLocked(rd.ctx, func() bool { return rd.cursor < r.written || r.closed }); err != nil {
		r.mu.Unlock()
		return 0, err
	}
	if rd.cursor >= r.written {
		r.mu.Unlock()
		return 0, io.EOF
	}
	from := rd.cursor
	n := min(int64(len(p)), r.written-from)
	r.mu.Unlock()

	// The writer cannot reuse [from, from+n) before the cursor moves past it.
	r.copyOut(p[:n], from)

	r.mu.Lock()
	defer r.mu.Unlock()
	if rd.detached != nil {
		return 0, rd.detached
	}
	rd.cursor += n
	rd.touch()
	if !rd.pendingLocked() {
		rd.disarmLocked()
	}
	r.broadcastLocked()
	return int(n), nil
}

// Capacity is the ring's size: see store.SectionReader.
func (rd *Reader) Capacity() int64 { return rd.r.size }

// beginSectionLocked checks that a section of n bytes fits the ring, waits (r.mu held)
// until ready, and is io.EOF when the stream has ended with nothing left to hand out.
func (rd *Reader) beginSectionLocked(ctx context.Context, n int64, ready func() bool) error {
	r := rd.r
	if n <= 0 || n > r.size {
		return fmt.Errorf("ring: a section of %d bytes does not fit a ring of %d", n, r.size)
	}
	err := rd.waitLocked(ctx, ready)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	if rd.cursor >= r.written {
		return io.EOF
	}
	return nil
}

// NextSection hands out the next n bytes in place; see store.SectionReader.
func (rd *Reader) NextSection(ctx context.Context, n int64) (store.Section, error) {
	r := rd.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := rd.beginSectionLocked(ctx, n, func() bool { return r.written-rd.cursor >= n || r.closed }); err != nil {
		return nil, err
	}
	s := &section{rd: rd, start: rd.cursor, size: min(n, r.written-rd.cursor)}
	s.SectionReader = io.NewSectionReader(s, 0, s.size)
	rd.holds[s] = s.start
	rd.cursor += s.size
	rd.touch()
	return s, nil
}

// section is a held range of the ring. Its bytes cannot be overwritten until Release:
// the holder's low-water mark pins them.
type section struct {
	*io.SectionReader
	rd    *Reader
	start int64
	size  int64
}

// ReadAt is the io.ReaderAt the section's SectionReader reads through; off is relative
// to the section.
func (s *section) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), s.size-off)
	s.rd.r.copyOut(p[:n], s.start+off)
	// Checked after the copy: bytes are reused only after the reader is gone, so if it
	// is not gone now, what was copied is the section's.
	if s.rd.gone.Load() {
		return 0, errors.New("the stream's reader was detached")
	}
	s.rd.touch()
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

func (s *section) Size() int64 { return s.size }

func (s *section) Release() { s.rd.release(s) }

// release drops the hold h has on the ring.
func (rd *Reader) release(h any) {
	r := rd.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := rd.holds[h]; !ok {
		return
	}
	delete(rd.holds, h)
	rd.touch()
	if !rd.pendingLocked() {
		rd.disarmLocked()
	}
	r.broadcastLocked()
}

// StreamSection hands out the next n bytes before they are produced; see
// store.SectionReader.
func (rd *Reader) StreamSection(ctx context.Context, n int64) (store.StreamedSection, error) {
	r := rd.r
	r.mu.Lock()
	defer r.mu.Unlock()
	// Wait for its first byte, so that a stream ending on a section boundary is io.EOF
	// here rather than an empty section.
	if err := rd.beginSectionLocked(ctx, n, func() bool { return r.written > rd.cursor || r.closed }); err != nil {
		return nil, err
	}
	s := &streamSection{rd: rd, ctx: ctx, start: rd.cursor, size: n}
	rd.holds[s] = s.start
	rd.cursor += n // may run past what is written: the section waits for it
	rd.touch()
	return s, nil
}

// streamSection is a held range of the ring that is still being written: reads wait for
// the bytes, and fail with store.ErrShortSection if the stream ends inside it.
type streamSection struct {
	rd          *Reader
	ctx         context.Context
	start, size int64
	off         int64
}

func (s *streamSection) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	r := s.rd.r
	r.mu.Lock()
	at := s.start + s.off
	err := s.rd.waitLocked(s.ctx, func() bool { return r.written > at || r.closed })
	if err == nil {
		err = s.ctx.Err()
	}
	if err != nil {
		r.mu.Unlock()
		return 0, err
	}
	if _, held := s.rd.holds[s]; !held {
		r.mu.Unlock()
		return 0, errors.New("ring: read of a released section")
	}
	if r.written <= at {
		r.mu.Unlock()
		return 0, store.ErrShortSection
	}
	n := min(int64(len(p)), r.written-at, s.size-s.off)
	r.mu.Unlock()
	r.copyOut(p[:n], at)
	if s.rd.gone.Load() {
		return 0, errors.New("the stream's reader was detached")
	}
	s.off += n
	s.rd.touch()
	return int(n), nil
}

func (s *streamSection) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.off
	case io.SeekEnd:
		offset += s.size
	}
	if offset < 0 || offset > s.size {
		return 0, fmt.Errorf("ring: seek to %d of a section of %d bytes", offset, s.size)
	}
	s.off = offset
	return offset, nil
}

func (s *streamSection) Size() int64 { return s.size }

// Ended reports, once the stream has ended, how many of the section's bytes it has;
// ok is false while the stream goes on.
func (s *streamSection) Ended() (n int64, ok bool) {
	r := s.rd.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		return 0, false
	}
	return min(s.size, max(0, r.written-s.start)), true
}

func (s *streamSection) Release() { s.rd.release(s) }
