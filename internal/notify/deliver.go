package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// Retry bounds the delivery of one notification to one notifier.
type Retry struct {
	Attempts       int           // default 4
	FirstWait      time.Duration // before the second attempt, doubled after each; default 1s
	MaxWait        time.Duration // longest wait between attempts; default 8s
	Total          time.Duration // no attempt starts after this much time; default 30s
	AttemptTimeout time.Duration // one request's limit; default 10s
}

func (r Retry) withDefaults() Retry {
	r.Attempts = cmp.Or(r.Attempts, 4)
	r.FirstWait = cmp.Or(r.FirstWait, time.Second)
	r.MaxWait = cmp.Or(r.MaxWait, 8*time.Second)
	r.Total = cmp.Or(r.Total, 30*time.Second)
	r.AttemptTimeout = cmp.Or(r.AttemptTimeout, 10*time.Second)
	return r
}

// wait is the pause before attempt n+1 (n >= 1).
func (r Retry) wait(n int) time.Duration {
	w := r.FirstWait
	for i := 1; i < n && w < r.MaxWait; i++ {
		w *= 2
	}
	return min(w, r.MaxWait)
}

// Options configure a Dispatcher; every field has a default.
type Options struct {
	Logger *slog.Logger
	Clock  clock.Clock
	// Host names the sender in every event; default os.Hostname (the pod's name).
	Host   string
	Client *http.Client
	Retry  Retry
	// Failed is called once for each notification a notifier did not get (the
	// lifeboat_notifications_failed_total metric).
	Failed func(notifier string)
}

// Dispatcher delivers notices to the configured notifiers. The zero of a nil
// *Dispatcher sends nothing, so callers need no check for "no notifications".
type Dispatcher struct {
	notifiers []config.Notifier
	o         Options
}

// New is a dispatcher for the configured notifiers. Their secrets are read at each
// delivery, so a rotated Kubernetes Secret is picked up by a running `serve`, and a
// missing one fails that delivery only, never a backup.
func New(ns []config.Notifier, o Options) *Dispatcher {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Clock = clock.Or(o.Clock)
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.Client == nil {
		o.Client = &http.Client{
			// A redirect would take the signed body (or Slack's token) somewhere the
			// config does not name: a 3xx is a failed delivery instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.Failed == nil {
		o.Failed = func(string) {}
	}
	o.Retry = o.Retry.withDefaults()
	return &Dispatcher{notifiers: ns, o: o}
}

// Wants reports whether any notifier subscribes to one of events, so that callers can
// skip work (a listing) that only a notification needs.
func (d *Dispatcher) Wants(events ...string) bool {
	if d == nil {
		return false
	}
	for i := range d.notifiers {
		for _, e := range events {
			if d.notifiers[i].Wants(e) {
				return true
			}
		}
	}
	return false
}

// Send delivers n to every notifier that subscribes to one of its events, all at once,
// and returns when each has been delivered or given up on (Retry bounds that). It never
// fails: what was not delivered is logged and counted.
func (d *Dispatcher) Send(ctx context.Context, n Notice) {
	if d == nil || len(n.Events) == 0 {
		return
	}
	n.Event.Version = Version
	n.Event.ID = newID()
	n.Event.Time = d.o.Clock.Now().UTC()
	n.Event.Host = d.o.Host
	var wg sync.WaitGroup
	for i := range d.notifiers {
		nt := &d.notifiers[i]
		for _, e := range n.Events {
			if nt.Wants(e) {
				wg.Go(func() { d.deliver(ctx, nt, n.addressed(e)) })
				break
			}
		}
	}
	wg.Wait()
}

func (d *Dispatcher) deliver(ctx context.Context, nt *config.Notifier, ev Event) {
	log := d.o.Logger.With("notifier", nt.Name, "kind", nt.Kind, "event", ev.Event, "source", ev.Source, "delivery", ev.ID)
	attempts, err := d.attempts(ctx, nt, ev)
	if err != nil {
		// err never holds the URL or a secret (see sanitize).
		log.Error("notification not delivered; the run's outcome is unchanged", "attempts", attempts, "err", err)
		d.o.Failed(nt.Name)
		return
	}
	log.Info("notification delivered", "attempts", attempts)
}

// attempts posts ev until it is accepted, the receiver refuses it for good, or the retry
// budget is spent.
func (d *Dispatcher) attempts(ctx context.Context, nt *config.Notifier, ev Event) (int, error) {
	target, secret, body, err := d.prepare(nt, ev)
	if err != nil {
		return 0, err
	}
	r := d.o.Retry
	start := d.o.Clock.Now()
	for n := 1; ; n++ {
		left := r.Total - d.o.Clock.Now().Sub(start)
		err := d.post(ctx, target, secret, body, ev, min(r.AttemptTimeout, max(left, time.Second)))
		if err == nil {
			return n, nil
		}
		var perm *permanentError
		if errors.As(err, &perm) || n >= r.Attempts || ctx.Err() != nil {
			return n, err
		}
		wait := r.wait(n)
		if d.o.Clock.Now().Sub(start)+wait >= r.Total {
			return n, fmt.Errorf("%w (gave up: the next attempt would start after %s)", err, r.Total)
		}
		c, stop := d.o.Clock.Timer(wait)
		select {
		case <-ctx.Done():
			stop()
			return n, fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-c:
		}
	}
}

// prepare resolves the notifier's secrets and encodes the body it gets.
func (d *Dispatcher) prepare(nt *config.Notifier, ev Event) (target string, secret []byte, body []byte, err error) {
	switch {
	case nt.Kind == config.NotifierWebhook && nt.Webhook != nil:
		s, err := nt.Webhook.Secret.Resolve()
		if err != nil {
			return "", nil, nil, fmt.Errorf("webhook.secret: %w", err)
		}
		body, err := json.Marshal(ev)
		return nt.Webhook.URL, []byte(s), body, err
	case nt.Kind == config.NotifierSlack && nt.Slack != nil:
		u, err := nt.Slack.URL.Resolve()
		if err != nil {
			return "", nil, nil, fmt.Errorf("slack.url: %w", err)
		}
		body, err := json.Marshal(slackMessage{Text: ev.Summary})
		return u, nil, body, err
	}
	return "", nil, nil, fmt.Errorf("notifier kind %q is not configured (a lifeboat bug: the config was not validated)", nt.Kind)
}

// slackMessage is what Slack's incoming webhooks take, and Mattermost's and
// Rocket.Chat's.
type slackMessage struct {
	Text string `json:"text"`
}

// permanentError is an answer that another attempt would not change (400, 401, 404...).
type permanentError struct{ error }

func (d *Dispatcher) post(ctx context.Context, target string, secret, body []byte, ev Event, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		// The error would quote the URL; the config check makes this unreachable for
		// webhooks, a mistyped Slack secret file is what gets here.
		return &permanentError{errors.New("the receiver's URL is not a valid http(s) URL")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lifeboat")
	if secret != nil {
		ts := d.o.Clock.Now().Unix()
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderSignature, Sign(secret, ts, body))
		req.Header.Set(HeaderEvent, ev.Event)
		req.Header.Set(HeaderDelivery, ev.ID)
	}
	resp, err := d.o.Client.Do(req)
	if err != nil {
		return sanitize(err, timeout)
	}
	// Drain a little so the connection is reused; never log what the receiver said, it
	// may echo the request.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooEarly || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("the receiver answered %s", resp.Status)
	default:
		return &permanentError{fmt.Errorf("the receiver refused the notification with %s; check the notifier's URL and secret", resp.Status)}
	}
}

// sanitize drops the request URL from a transport error: for Slack it holds the token.
func sanitize(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within %s", timeout)
		}
		return fmt.Errorf("could not reach the receiver: %w; check the notifier's URL, DNS and the egress allowed to lifeboat", ue.Err)
	}
	return err
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
