package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/notify"
)

// hookReceiver collects the events a webhook notifier posts, checking each signature.
type hookReceiver struct {
	t      *testing.T
	mu     sync.Mutex
	events []notify.Event
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := notify.Verify([]byte("hook-secret"), r.Header.Get(notify.HeaderTimestamp), r.Header.Get(notify.HeaderSignature), body, time.Now(), time.Minute); err != nil {
		h.t.Errorf("delivery not verified: %v", err)
	}
	var ev notify.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		h.t.Errorf("body: %v", err)
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

// waitFor waits until n events arrived and a moment more, to see that no more come.
func (h *hookReceiver) waitFor(n int) []notify.Event {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		got := len(h.events)
		h.mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) != n {
		h.t.Fatalf("%d notifications, want %d: %+v", len(h.events), n, h.events)
	}
	return append([]notify.Event(nil), h.events...)
}

// hookEnv is a server env whose config posts every event to a signature-checking receiver.
func hookEnv(t *testing.T) (*env, *hookReceiver) {
	h := &hookReceiver{t: t}
	hook := httptest.NewServer(h)
	t.Cleanup(hook.Close)
	secret := filepath.Join(t.TempDir(), "hook-secret")
	if err := os.WriteFile(secret, []byte("hook-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return newEnv(t, defaultServer+"\nnotifications:\n  - {name: ops, kind: webhook, webhook: {url: "+hook.URL+", secret: {file: "+secret+"}}}\n"), h
}

// A run a previous process left running is closed as failed at start, and notified: nobody
// was told when that process stopped.
func TestServeNotifiesInterruptedRuns(t *testing.T) {
	e, h := hookEnv(t)
	id := "vault-20261123T093000Z-abcd"
	if err := e.hist.Put(context.Background(), runningRecord(id)); err != nil {
		t.Fatal(err)
	}
	e.start()
	ev := h.waitFor(1)[0]
	if ev.Event != "failure" || ev.Backup != id || ev.Status != "failed" || !strings.Contains(ev.Error, "lifeboat stopped during this run") {
		t.Errorf("event: %+v", ev)
	}
}

// A partial run notifies, the next ok run is a recovery (judged from the history), an
// ordinary success after it sends nothing, and a damaged copy is announced once.
func TestServeNotifications(t *testing.T) {
	e, h := hookEnv(t)
	// "second" cannot be created: a file is in the way.
	blocked := filepath.Join(e.dir, "second")
	if err := os.WriteFile(blocked, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start()

	partial := e.wait(e.trigger("vault").ID)
	if partial.Status != "partial" {
		t.Fatalf("run: %+v", partial)
	}
	ev := h.waitFor(1)[0]
	if ev.Event != "partial" || ev.Backup != partial.ID || ev.Source != "vault" || len(ev.Destinations) != 2 ||
		!ev.Destinations[0].OK || ev.Destinations[1].OK || ev.Destinations[1].Error == "" {
		t.Errorf("partial event: %+v", ev)
	}

	if err := os.Remove(blocked); err != nil {
		t.Fatal(err)
	}
	// Runs a minute apart, as the history orders them by their start.
	e.clock.Advance(time.Minute)
	ok := e.wait(e.trigger("vault").ID)
	ev = h.waitFor(2)[1]
	if ev.Event != "recovery" || ev.Backup != ok.ID || ev.Previous != "partial" || ev.Status != "ok" {
		t.Errorf("recovery event: %+v", ev)
	}
	e.clock.Advance(time.Minute)
	e.wait(e.trigger("vault").ID)
	h.waitFor(2) // an ordinary success is not news by default

	// Damage the local copy of the recovered backup: the next listing announces it, once.
	data, err := filepath.Glob(filepath.Join(e.dir, "local", "vault", ok.ID, "data.*"))
	if err != nil || len(data) != 1 {
		t.Fatalf("data object of %s: %v %v", ok.ID, data, err)
	}
	if err := os.Truncate(data[0], 10); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.wait(e.trigger("vault").ID)
	ev = h.waitFor(3)[2]
	if ev.Event != "damaged-copy" || len(ev.Copies) != 1 || ev.Copies[0].Backup != ok.ID || ev.Copies[0].Destination != "local" || ev.Copies[0].Problem != "damaged" {
		t.Errorf("damaged-copy event: %+v", ev)
	}
	e.clock.Advance(time.Minute)
	e.wait(e.trigger("vault").ID)
	h.waitFor(3)
	req, _ := http.NewRequest("GET", e.ts.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if want := `lifeboat_notifications_failed_total{notifier="ops"} 0`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
