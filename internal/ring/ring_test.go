package ring

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func stream(seed uint64, n int) []byte {
	rnd := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rnd.Uint32())
	}
	return b
}

// writeAll writes data in random chunks, then closes the ring.
func writeAll(t *testing.T, r *Ring, data []byte, seed uint64) <-chan error {
	done := make(chan error, 1)
	rnd := rand.New(rand.NewPCG(seed, 1))
	go func() {
		for len(data) > 0 {
			n := min(len(data), 1+rnd.IntN(5000))
			if _, err := r.Write(data[:n]); err != nil {
				done <- err
				return
			}
			data = data[n:]
		}
		done <- r.Close()
	}()
	return done
}

// readCopying reads with random buffer sizes.
func readCopying(rd *Reader, seed uint64) ([]byte, error) {
	rnd := rand.New(rand.NewPCG(seed, 2))
	var out bytes.Buffer
	for {
		p := make([]byte, 1+rnd.IntN(3000))
		n, err := rd.Read(p)
		out.Write(p[:n])
		if err == io.EOF {
			return out.Bytes(), rd.Finish()
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// readSections takes sections of n bytes, several held at once and released out of order,
// each read twice (as an HTTP client's retry would), the way the S3 store uploads.
func readSections(rd *Reader, n int64, inFlight int) ([]byte, error) {
	var (
		parts [][]byte
		mu    sync.Mutex
		wg    sync.WaitGroup
		errs  []error
	)
	slots := make(chan struct{}, inFlight)
	for i := 0; ; i++ {
		slots <- struct{}{}
		sec, err := rd.NextSection(context.Background(), n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		parts = append(parts, nil)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer sec.Release()
			first, err1 := io.ReadAll(sec)
			_, _ = sec.Seek(0, io.SeekStart)
			again, err2 := io.ReadAll(sec)
			mu.Lock()
			defer mu.Unlock()
			if err := errors.Join(err1, err2); err != nil || !bytes.Equal(first, again) || int64(len(first)) != sec.Size() {
				errs = append(errs, errors.New("a section read differently the second time"))
			}
			parts[i] = first
		}()
		if i%3 == 0 {
			time.Sleep(time.Millisecond) // let later sections finish first
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return bytes.Join(parts, nil), rd.Finish()
}

// Every reader gets the exact stream, whatever its pace and way of reading, with a ring
// much smaller than the stream.
func TestReadersGetTheWholeStream(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ring     int
		size     int
		sections []int64 // one section reader per entry (its section size); plus two copying readers
	}{
		{"empty", 64, 0, []int64{16}},
		{"smaller than the ring", 1 << 10, 300, []int64{100}},
		{"many rings", 4 << 10, 200 << 10, []int64{1 << 10, 1000}},
		{"section of a whole ring", 4 << 10, 50 << 10, []int64{4 << 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := stream(uint64(tc.size), tc.size)
			r := New(tc.ring, 0, nil)
			type result struct {
				got []byte
				err error
			}
			var results []chan result
			for i := range 2 {
				rd := r.NewReader(context.Background(), "copying", nil)
				ch := make(chan result, 1)
				results = append(results, ch)
				go func() { got, err := readCopying(rd, uint64(i)); ch <- result{got, err} }()
			}
			for _, n := range tc.sections {
				rd := r.NewReader(context.Background(), "sections", nil)
				ch := make(chan result, 1)
				results = append(results, ch)
				inFlight := max(1, int(int64(tc.ring)/n)-1)
				go func() { got, err := readSections(rd, n, inFlight); ch <- result{got, err} }()
			}
			if err := <-writeAll(t, r, data, 7); err != nil {
				t.Fatalf("write: %v", err)
			}
			for i, ch := range results {
				res := <-ch
				if res.err != nil || !bytes.Equal(res.got, data) {
					t.Errorf("reader %d: %d bytes (want %d), equal %v, err %v", i, len(res.got), len(data), bytes.Equal(res.got, data), res.err)
				}
			}
		})
	}
}

// waitUntil polls cond in real time: the ring's goroutines act on their own schedule.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *Ring) isBlocked() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blocked
}

// The writer waits only for the slowest live reader, and only a whole ring behind; a
// detached reader stops holding it, and with none left Write fails.
func TestWriterWaitsForTheSlowestLiveReader(t *testing.T) {
	r := New(10, 0, nil)
	slow := r.NewReader(context.Background(), "slow", nil)
	fast := r.NewReader(context.Background(), "fast", nil)
	if n, err := r.Write(make([]byte, 10)); n != 10 || err != nil {
		t.Fatalf("a full ring's worth: %d, %v", n, err)
	}
	if _, err := io.ReadFull(fast, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() { _, err := r.Write(make([]byte, 5)); wrote <- err }()
	waitUntil(t, "the writer waits for the slow reader", r.isBlocked)
	if _, err := io.ReadFull(slow, make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the writer waits again, 3 bytes later", r.isBlocked)
	slow.Detach(errors.New("upload failed"))
	if err := <-wrote; err != nil {
		t.Fatalf("write after the slow reader was detached: %v", err)
	}
	fast.Detach(errors.New("upload failed too"))
	if _, err := r.Write([]byte("x")); !errors.Is(err, ErrNoReader) {
		t.Fatalf("write with no reader left = %v, want ErrNoReader", err)
	}
}

// A reader with data waiting that takes none of it for the stall timeout is detached
// (and told, to cancel its upload); one that waits for a slow writer is not, nor one that
// holds sections while the writer still has room.
func TestStall(t *testing.T) {
	clk := clocktest.New(t0)
	r := New(100, time.Minute, clk)
	var stopped sync.WaitGroup
	stopped.Add(1)
	hung := r.NewReader(context.Background(), "destination hung", stopped.Done)
	waiting := r.NewReader(context.Background(), "destination waiting", func() { t.Error("the waiting reader was detached") })
	holding := r.NewReader(context.Background(), "destination holding", func() { t.Error("the holding reader was detached") })

	if _, err := r.Write(make([]byte, 30)); err != nil {
		t.Fatal(err)
	}
	sec, err := holding.NextSection(context.Background(), 30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(waiting, make([]byte, 30)); err != nil {
		t.Fatal(err)
	}
	// waiting now waits for bytes the writer has not written.
	go func() { _, _ = waiting.Read(make([]byte, 10)) }()
	waitUntil(t, "the waiting reader waits", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return waiting.waiting })

	clk.Advance(time.Minute)
	waitUntil(t, "the hung reader is detached", func() bool { return hung.Err() != nil })
	stopped.Wait()
	if err := hung.Err(); !strings.Contains(err.Error(), "destination hung accepted no data for 1m0s") {
		t.Fatalf("stall reason = %v", err)
	}
	for i := 0; i < 10; i++ {
		clk.Advance(time.Minute)
	}
	if waiting.Err() != nil || holding.Err() != nil {
		t.Fatalf("detached a reader that did not stall: %v, %v", waiting.Err(), holding.Err())
	}
	sec.Release()
}

// Sections held while the writer waits for their room, or after the stream has ended,
// are a stall.
func TestStallHoldingSections(t *testing.T) {
	clk := clocktest.New(t0)
	r := New(20, time.Minute, clk)
	rd := r.NewReader(context.Background(), "destination s3", nil)
	if _, err := r.Write(make([]byte, 20)); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.NextSection(context.Background(), 20); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() { _, err := r.Write(make([]byte, 5)); wrote <- err }()
	waitUntil(t, "the writer waits for the held section", r.isBlocked)
	clk.Advance(time.Minute)
	if err := <-wrote; !errors.Is(err, ErrNoReader) {
		t.Fatalf("write after the only reader stalled = %v, want ErrNoReader", err)
	}
	if err := rd.Err(); err == nil || !strings.Contains(err.Error(), "accepted no data") {
		t.Fatalf("reader holding sections the writer waits for: %v", err)
	}
}

// Abort fails every reader at once, even with bytes left to read; Finish before the end
// of the stream is an error.
func TestAbortAndEarlyFinish(t *testing.T) {
	r := New(100, 0, nil)
	copying := r.NewReader(context.Background(), "a", nil)
	sections := r.NewReader(context.Background(), "b", nil)
	early := r.NewReader(context.Background(), "c", nil)
	if _, err := r.Write(make([]byte, 50)); err != nil {
		t.Fatal(err)
	}
	if err := early.Finish(); err == nil || !strings.Contains(err.Error(), "before the end of the stream") {
		t.Fatalf("Finish before the end = %v", err)
	}
	boom := errors.New("the source failed")
	r.Abort(boom)
	if _, err := copying.Read(make([]byte, 10)); !errors.Is(err, boom) {
		t.Fatalf("Read after Abort = %v, want the cause", err)
	}
	if _, err := sections.NextSection(context.Background(), 10); !errors.Is(err, boom) {
		t.Fatalf("NextSection after Abort = %v, want the cause", err)
	}
}

// A section must fit the ring, and a reader's context ends its wait.
func TestSectionLimits(t *testing.T) {
	r := New(100, 0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	rd := r.NewReader(ctx, "a", nil)
	var _ store.SectionReader = rd
	if _, err := rd.NextSection(context.Background(), 101); err == nil {
		t.Fatal("a section larger than the ring was accepted")
	}
	got := make(chan error, 1)
	go func() { _, err := rd.NextSection(context.Background(), 10); got <- err }()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("NextSection after its reader's context ended = %v", err)
	}
}

// A streamed section is handed out before its bytes exist: its reads wait for them, and
// when the stream ends inside it they fail with store.ErrShortSection while Ended says
// how many bytes it has, which can be read again from its start.
func TestStreamSection(t *testing.T) {
	r := New(100, 0, nil)
	rd := r.NewReader(context.Background(), "s3", nil)
	if _, err := r.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	sec, err := rd.StreamSection(context.Background(), 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sec.Ended(); ok {
		t.Fatal("Ended before the stream ended")
	}
	got := make(chan []byte, 1)
	go func() {
		b, err := io.ReadAll(sec)
		if !errors.Is(err, store.ErrShortSection) {
			t.Errorf("reading past the end of the stream = %v, want ErrShortSection", err)
		}
		got <- b
	}()
	if _, err := r.Write([]byte(" second")); err != nil {
		t.Fatal(err)
	}
	// The section holds its bytes: the writer has room for only 100-60 more after it.
	if n, err := r.Write(make([]byte, 0)); n != 0 || err != nil {
		t.Fatal(n, err)
	}
	r.Close()
	if b := <-got; string(b) != "first second" {
		t.Fatalf("streamed %q", b)
	}
	if n, ok := sec.Ended(); !ok || n != 12 {
		t.Fatalf("Ended = %d, %v; want 12, true", n, ok)
	}
	if _, err := sec.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	again := make([]byte, 12)
	if _, err := io.ReadFull(sec, again); err != nil || string(again) != "first second" {
		t.Fatalf("read again: %q, %v", again, err)
	}
	sec.Release()
	if _, err := rd.StreamSection(context.Background(), 60); err != io.EOF {
		t.Fatalf("StreamSection at the end = %v, want io.EOF", err)
	}
	if err := rd.Finish(); err != nil {
		t.Fatalf("Finish after a short last section: %v", err)
	}
}
