package bench

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
)

// bucket is a token bucket of bytes: it refills at rate bytes per second up to burst, and
// a sender may take more than it holds, then waits until the debt is paid. One bucket is
// one link: every connection to the same destination shares it, as the connections of
// one host share its uplink.
type bucket struct {
	rate  float64 // bytes per second
	burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// newBucket returns a full bucket of rate bytes per second. Its burst is 10 ms of the
// rate (at least 64 KiB): small enough that the rate holds over any interval a benchmark
// can see, large enough that the timers do not dominate.
func newBucket(rate float64, now time.Time) *bucket {
	burst := max(rate/100, 64<<10)
	return &bucket{rate: rate, burst: burst, tokens: burst, last: now}
}

// take takes n bytes at now and returns how long the sender must wait before sending
// them. Its time is given, not read, so that it can be tested without a clock.
func (b *bucket) take(now time.Time, n int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+b.rate*now.Sub(b.last).Seconds())
		b.last = now
	}
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// throttle is a TCP proxy in front of one destination that limits what clients send to
// it (the upload) to its bucket's rate; replies pass unlimited. It stands in for the WAN
// link to a remote bucket: MinIO on loopback takes hundreds of MB/s, a region away is
// tens. Being a TCP proxy it changes no byte, so S3 request signatures (which cover the
// Host the client dialled) stay valid.
type throttle struct {
	ln       net.Listener
	upstream string
	bucket   *bucket
	clock    clock.Clock

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startThrottle listens on a free loopback port and forwards every connection to
// upstream (host:port), at most bytesPerSec from client to upstream.
func startThrottle(upstream string, bytesPerSec float64, c clock.Clock) (*throttle, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c = clock.Or(c)
	t := &throttle{ln: ln, upstream: upstream, bucket: newBucket(bytesPerSec, c.Now()), clock: c, conns: map[net.Conn]struct{}{}}
	t.wg.Go(t.accept)
	return t, nil
}

// Addr is the host:port clients use instead of upstream.
func (t *throttle) Addr() string { return t.ln.Addr().String() }

// Close stops listening, cuts every connection and waits for their goroutines.
func (t *throttle) Close() error {
	err := t.ln.Close()
	t.mu.Lock()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return err
}

func (t *throttle) track(c net.Conn, add bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if add {
		t.conns[c] = struct{}{}
	} else {
		delete(t.conns, c)
	}
}

func (t *throttle) accept() {
	for {
		client, err := t.ln.Accept()
		if err != nil {
			return // closed
		}
		t.wg.Go(func() { t.serve(client) })
	}
}

// serve forwards one connection both ways until both sides are done. A half-close is
// passed on, so an HTTP client that closes its sending side still gets its answer.
func (t *throttle) serve(client net.Conn) {
	server, err := net.Dial("tcp", t.upstream)
	if err != nil {
		client.Close()
		return
	}
	t.track(client, true)
	t.track(server, true)
	defer func() {
		t.track(client, false)
		t.track(server, false)
		client.Close()
		server.Close()
	}()
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = t.copyLimited(server, client)
		closeWrite(server)
	})
	_, _ = io.Copy(client, server)
	closeWrite(client)
	wg.Wait()
}

// copyLimited copies src to dst, each chunk after the bucket allows it.
func (t *throttle) copyLimited(dst io.Writer, src io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := t.bucket.take(t.clock.Now(), n); d > 0 {
				fire, _ := t.clock.Timer(d)
				<-fire
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
