package bench

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
)

// These tests run under plain `go test` (they take milliseconds and start no server);
// the benchmarks' results depend on the throttle holding its rate, so it is tested
// like any other code, on a fake clock so that no assertion depends on the machine's
// speed.

func TestBucketHoldsItsRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		rate       float64 // bytes/s
		chunk      int
		total      int
		burst      float64 // what newBucket should choose
		wantSecond float64 // time to send total: (total - burst) / rate
	}{
		{"50 MB/s in 32 KiB chunks", 50e6, 32 << 10, 200e6, 500e3, (200e6 - 500e3) / 50e6},
		{"1 MB/s: the 64 KiB floor of the burst", 1e6, 32 << 10, 10 << 20, 64 << 10, (10<<20 - 64<<10) / 1e6},
		{"chunks larger than the burst", 1e6, 256 << 10, 4 << 20, 64 << 10, (4<<20 - 64<<10) / 1e6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBucket(tc.rate, t0)
			if b.burst != tc.burst {
				t.Fatalf("burst %v, want %v", b.burst, tc.burst)
			}
			// A sender that sends each chunk once its wait is over: the time it is done is
			// the time of its last chunk plus that chunk's wait.
			now := t0
			for sent := 0; sent < tc.total; sent += tc.chunk {
				now = now.Add(b.take(now, min(tc.chunk, tc.total-sent)))
			}
			got := now.Sub(t0).Seconds()
			if d := got - tc.wantSecond; d < -1e-6 || d > 1e-6 {
				t.Errorf("sent %d bytes in %.6fs, want %.6fs", tc.total, got, tc.wantSecond)
			}
		})
	}
}

func TestBucketRefillsOnlyUpToItsBurst(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBucket(1e6, t0) // burst 64 KiB
	// An hour idle gives no more than the burst: the next 64 KiB pass, one byte more waits.
	later := t0.Add(time.Hour)
	if d := b.take(later, 64<<10); d != 0 {
		t.Fatalf("a full bucket made 64 KiB wait %s", d)
	}
	if d := b.take(later, 1000); d != time.Millisecond {
		t.Fatalf("1000 bytes past the burst at 1 MB/s wait %s, want 1ms", d)
	}
}

// TestThrottleForwardsAtItsRate sends 1 MiB through a real proxy at 1 MB/s on a fake
// clock: the upstream never holds more than the burst plus what the elapsed fake time
// allows, gets every byte unchanged, and the reply comes back.
func TestThrottleForwardsAtItsRate(t *testing.T) {
	const rate, total, step = 1e6, 1 << 20, 10 * time.Millisecond
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	var got counter
	received := make(chan []byte, 1)
	go func() {
		c, err := upstream.Accept()
		if err != nil {
			received <- nil
			return
		}
		defer c.Close()
		var buf bytes.Buffer
		_, _ = io.Copy(io.MultiWriter(&buf, &got), c)
		_, _ = c.Write([]byte("ok"))
		received <- buf.Bytes()
	}()

	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p, err := startThrottle(upstream.Addr().String(), rate, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	data := make([]byte, total)
	_, _ = rand.Read(data)
	go func() {
		_, _ = conn.Write(data)
		closeWrite(conn)
	}()

	start := clk.Now()
	burst := newBucket(rate, start).burst
	deadline := time.Now().Add(30 * time.Second) // only against a hang, never reached when it works
	for got.n.Load() < total {
		if time.Now().After(deadline) {
			t.Fatalf("upstream got %d of %d bytes", got.n.Load(), total)
		}
		if clk.Pending() == 0 {
			time.Sleep(time.Millisecond) // the proxy is reading or writing, not waiting
			continue
		}
		elapsed := clk.Now().Sub(start).Seconds()
		if n := got.n.Load(); float64(n) > burst+rate*elapsed {
			t.Fatalf("after %.3fs upstream got %d bytes, more than burst %.0f + %.0f/s", elapsed, n, burst, rate)
		}
		clk.Advance(step)
	}
	elapsed := clk.Now().Sub(start).Seconds()
	if want := (total - burst) / rate; elapsed < want || elapsed > want+2*step.Seconds() {
		t.Errorf("1 MiB took %.3fs of fake time, want %.3f-%.3fs", elapsed, want, want+2*step.Seconds())
	}
	if body := <-received; !bytes.Equal(body, data) {
		t.Errorf("upstream got %d bytes that differ from the %d sent", len(body), len(data))
	}
	reply, err := io.ReadAll(conn)
	if err != nil || string(reply) != "ok" {
		t.Errorf("reply %q, %v; want \"ok\"", reply, err)
	}
}

// counter is an io.Writer that counts what it is given.
type counter struct{ n atomic.Int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}
