package server

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
)

// Failed sign-ins are rate-limited per client address with a token bucket: a client may
// get the token wrong failBurst times in a row, then once per failRefill. A good token is
// never counted, so automation that authenticates correctly is never slowed down.
//
// The address is the TCP peer: behind a proxy every client shares the proxy's address, so
// a guesser there locks the others out too until the bucket refills. lifeboat does not
// trust X-Forwarded-For, which any client can set.
const (
	failBurst  = 10
	failRefill = 10 * time.Second
	// maxTracked bounds the memory a flood of addresses (IPv6 makes them cheap) can take;
	// past it, clients whose buckets have refilled are forgotten first, then any.
	maxTracked = 10000
)

type failureLimiter struct {
	clock   clock.Clock
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newFailureLimiter(c clock.Clock) *failureLimiter {
	return &failureLimiter{clock: c, buckets: map[string]*bucket{}}
}

// refilled brings b up to now and returns it.
func (b *bucket) refilled(now time.Time) *bucket {
	b.tokens = math.Min(failBurst, b.tokens+now.Sub(b.at).Seconds()/failRefill.Seconds())
	b.at = now
	return b
}

// wait is how long the client at ip must wait before its next attempt; 0 when it may
// try now.
func (l *failureLimiter) wait(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil || b.refilled(l.clock.Now()).tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(failRefill))
}

// fail takes one token from ip's bucket.
func (l *failureLimiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= maxTracked {
			for k, o := range l.buckets {
				if o.refilled(now).tokens >= failBurst {
					delete(l.buckets, k)
				}
			}
		}
		for k := range l.buckets { // still full: a flood of addresses; forget any one
			if len(l.buckets) < maxTracked {
				break
			}
			delete(l.buckets, k)
		}
		b = &bucket{tokens: failBurst, at: now}
		l.buckets[ip] = b
	}
	b.refilled(now).tokens = math.Max(0, b.tokens-1)
}

// attempt is whether r presents a credential: a bearer header, or a form post of the
// page (sign-in, Back up now). Requests without one are not guesses and are not counted.
func attempt(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || (r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/ui/"))
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitFailures answers 429 with Retry-After to a client that used up its failed
// attempts, and counts every 401 answered to a request that presented a credential.
func (l *failureLimiter) limitFailures(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !attempt(r) {
			h.ServeHTTP(w, r)
			return
		}
		ip := clientIP(r)
		if d := l.wait(ip); d > 0 {
			secs := int(math.Ceil(d.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, http.StatusTooManyRequests, "too many wrong tokens from "+ip+"; try again in "+
				strconv.Itoa(secs)+"s (the limit is per client address)")
			return
		}
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		if rec.code == http.StatusUnauthorized {
			l.fail(ip)
		}
	})
}
