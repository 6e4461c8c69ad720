package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
)

// receiver records what it was sent, at the fake clock's time, and answers with the
// next status of answers (200 once they run out).
type receiver struct {
	mu      sync.Mutex
	clk     *clocktest.Clock
	answers []int
	got     []delivery
}

type delivery struct {
	at     time.Time
	header http.Header
	body   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, delivery{at: rc.clk.Now(), header: r.Header.Clone(), body: body})
	code := http.StatusOK
	if len(rc.answers) > 0 {
		code, rc.answers = rc.answers[0], rc.answers[1:]
	}
	w.WriteHeader(code)
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

func secretFile(t *testing.T, value string) config.Secret {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Secret{File: p}
}

func webhook(t *testing.T, url, secret string, events ...string) config.Notifier {
	if len(events) == 0 {
		events = config.DefaultNotifyEvents
	}
	return config.Notifier{Name: "ops", Kind: config.NotifierWebhook, Events: events,
		Webhook: &config.WebhookNotifier{URL: url, Secret: secretFile(t, secret)}}
}

var failedRun = ForRun(history.Run{ID: "vault-20261207T101500Z-1a2b", Source: "vault", Status: "failed", Error: "boom"}, "")

// sendDriven runs Send while advancing the fake clock one second at a time whenever the
// dispatcher waits.
func sendDriven(t *testing.T, d *Dispatcher, clk *clocktest.Clock, n Notice) {
	t.Helper()
	done := make(chan struct{})
	go func() { d.Send(context.Background(), n); close(done) }()
	for {
		select {
		case <-done:
			return
		case <-time.After(time.Millisecond):
			if clk.Pending() > 0 {
				clk.Advance(time.Second)
			}
		}
	}
}

func TestDeliverySignedAndRetriedWithBackoff(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 16, 0, 0, time.UTC)
	clk := clocktest.New(t0)
	rc := &receiver{clk: clk, answers: []int{503, 502, 429}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	failed := 0
	d := New([]config.Notifier{webhook(t, srv.URL+"/hook", "hmac-key")}, Options{Clock: clk, Host: "pod-1",
		Failed: func(string) { failed++ }})
	sendDriven(t, d, clk, failedRun)

	got := rc.deliveries()
	if len(got) != 4 || failed != 0 {
		t.Fatalf("%d attempts, %d failures; want 4 attempts (3 refused, then accepted) and no failure", len(got), failed)
	}
	// Waits of 1s, 2s, 4s between attempts.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if w := got[i+1].at.Sub(got[i].at); w != want {
			t.Errorf("wait before attempt %d = %s, want %s", i+2, w, want)
		}
	}
	var ids []string
	for _, g := range got {
		if err := Verify([]byte("hmac-key"), g.header.Get(HeaderTimestamp), g.header.Get(HeaderSignature), g.body, g.at, time.Minute); err != nil {
			t.Errorf("attempt at %s: %v", g.at, err)
		}
		ids = append(ids, g.header.Get(HeaderDelivery))
	}
	// Every attempt is signed at its own time, and is the same delivery.
	if got[0].header.Get(HeaderTimestamp) == got[3].header.Get(HeaderTimestamp) || ids[0] == "" || ids[0] != ids[3] {
		t.Errorf("timestamps %s/%s, delivery ids %v", got[0].header.Get(HeaderTimestamp), got[3].header.Get(HeaderTimestamp), ids)
	}
	var ev Event
	if err := json.Unmarshal(got[3].body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Version != 1 || ev.Event != "failure" || ev.Source != "vault" || ev.Backup != "vault-20261207T101500Z-1a2b" ||
		ev.Error != "boom" || ev.Host != "pod-1" || !ev.Time.Equal(t0) || ev.ID != ids[0] {
		t.Errorf("event: %+v", ev)
	}
	if h := got[0].header.Get(HeaderEvent); h != "failure" {
		t.Errorf("%s = %q", HeaderEvent, h)
	}
}

func TestDeliveryGivesUpWithinTheBudget(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 12, 7, 10, 16, 0, 0, time.UTC))
	rc := &receiver{clk: clk, answers: []int{500, 500, 500, 500, 500, 500, 500, 500, 500, 500}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var logs bytes.Buffer
	failed := map[string]int{}
	d := New([]config.Notifier{webhook(t, srv.URL, "k")}, Options{Clock: clk,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Retry:  Retry{Attempts: 10, FirstWait: time.Second, MaxWait: 8 * time.Second, Total: 20 * time.Second},
		Failed: func(n string) { failed[n]++ }})
	sendDriven(t, d, clk, failedRun)
	// Attempts at 0, 1, 3, 7 and 15 s; the next would start at 23 s, past the 20 s budget.
	if n := len(rc.deliveries()); n != 5 {
		t.Errorf("%d attempts, want 5", n)
	}
	if failed["ops"] != 1 {
		t.Errorf("failures counted: %v, want ops: 1", failed)
	}
	if !strings.Contains(logs.String(), "notification not delivered") || !strings.Contains(logs.String(), "500 Internal Server Error") {
		t.Errorf("log:\n%s", logs.String())
	}
}

func TestDeliveryRefusedIsNotRetried(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 12, 7, 10, 16, 0, 0, time.UTC))
	rc := &receiver{clk: clk, answers: []int{401}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	failed := 0
	d := New([]config.Notifier{webhook(t, srv.URL, "k")}, Options{Clock: clk, Failed: func(string) { failed++ }})
	d.Send(context.Background(), failedRun) // no wait: a fake clock that never moves would hang a retry
	if n := len(rc.deliveries()); n != 1 || failed != 1 {
		t.Errorf("%d attempts, %d failures; want 1 and 1", n, failed)
	}
}

// Only notifiers that subscribe get the notice, each once; a nil dispatcher sends nothing.
func TestSubscriptions(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 12, 7, 10, 16, 0, 0, time.UTC))
	rc := &receiver{clk: clk}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	recovering := ForRun(history.Run{ID: "vault-x", Source: "vault", Status: "ok"}, "failed")
	a := webhook(t, srv.URL+"/a", "k", config.EventRecovery, config.EventSuccess)
	b := webhook(t, srv.URL+"/b", "k", config.EventSuccess)
	c := webhook(t, srv.URL+"/c", "k", config.EventFailure)
	d := New([]config.Notifier{a, b, c}, Options{Clock: clk})
	if !d.Wants(config.EventRecovery) || d.Wants(config.EventDrillFailure) {
		t.Error("Wants is wrong")
	}
	d.Send(context.Background(), recovering)
	got := map[string]string{}
	for _, g := range rc.deliveries() {
		got[g.header.Get(HeaderEvent)] += "x"
	}
	if len(rc.deliveries()) != 2 || got["recovery"] != "x" || got["success"] != "x" {
		t.Errorf("deliveries by event: %v, want one recovery (a) and one success (b)", got)
	}
	var none *Dispatcher
	none.Send(context.Background(), recovering)
	if none.Wants(config.EventFailure) {
		t.Error("a nil dispatcher wants events")
	}
}

// A Slack URL holds its token: neither it nor a webhook secret may reach the log, even
// when the receiver is down.
func TestSecretsNeverLogged(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	slackURL := closed + "/services/T0001/B0002/SlackTokenXYZ"
	var logs bytes.Buffer
	ns := []config.Notifier{
		{Name: "chat", Kind: config.NotifierSlack, Events: config.DefaultNotifyEvents, Slack: &config.SlackNotifier{URL: secretFile(t, slackURL)}},
		webhook(t, closed+"/hook?token=QueryTokenABC", "HmacSecret123"),
		{Name: "gone", Kind: config.NotifierSlack, Events: config.DefaultNotifyEvents, Slack: &config.SlackNotifier{URL: config.Secret{File: "/nonexistent/slack-url"}}},
	}
	failed := map[string]int{}
	var mu sync.Mutex
	d := New(ns, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Retry:  Retry{Attempts: 2, FirstWait: time.Millisecond},
		Failed: func(n string) { mu.Lock(); failed[n]++; mu.Unlock() }})
	d.Send(context.Background(), failedRun)
	out := logs.String()
	for _, leak := range []string{"SlackTokenXYZ", "/services/", "QueryTokenABC", "/hook", "HmacSecret123"} {
		if strings.Contains(out, leak) {
			t.Errorf("log holds %q:\n%s", leak, out)
		}
	}
	if failed["chat"] != 1 || failed["ops"] != 1 || failed["gone"] != 1 {
		t.Errorf("failures counted: %v", failed)
	}
	if !strings.Contains(out, "connection refused") || !strings.Contains(out, "/nonexistent/slack-url") {
		t.Errorf("the log does not say why:\n%s", out)
	}
}
