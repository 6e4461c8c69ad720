package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
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

// hookSecret is the webhook's HMAC key, shared by lifeboat (from a file) and the receiver.
const hookSecret = "e2e-hook-hmac-secret-5d1f"

// receiver is a webhook receiver that checks every delivery's signature, as an operator's
// receiver would (docs/notifications.md), and keeps what it got.
type receiver struct {
	t      *testing.T
	url    string
	mu     sync.Mutex
	events []notify.Event
}

func startReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := notify.Verify([]byte(hookSecret), r.Header.Get(notify.HeaderTimestamp), r.Header.Get(notify.HeaderSignature), body, time.Now(), 5*time.Minute)
		if err != nil {
			t.Errorf("delivery refused: %v\n%s", err, body)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev notify.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("delivery body: %v\n%s", err, body)
		}
		if r.Header.Get(notify.HeaderEvent) != ev.Event || r.Header.Get(notify.HeaderDelivery) != ev.ID {
			t.Errorf("headers %v do not match the body %s", r.Header, body)
		}
		rc.mu.Lock()
		rc.events = append(rc.events, ev)
		rc.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/lifeboat"
	return rc
}

// expect waits until the receiver holds n events, then a little longer to see that no
// more arrive (serve delivers in the background), and returns the new ones since from.
func (rc *receiver) expect(from, n int) []notify.Event {
	rc.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		rc.mu.Lock()
		got := len(rc.events)
		rc.mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.events) != n {
		rc.t.Fatalf("the receiver got %d notifications, want %d: %+v", len(rc.events), n, rc.events)
	}
	return append([]notify.Event(nil), rc.events[from:]...)
}

// closedURL is an http URL on a port nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

func notifications(url, secretFile, events string) string {
	return fmt.Sprintf(`notifications:
  - name: ops
    kind: webhook
    webhook: {url: %q, secret: {file: %s}}
%s`, url, secretFile, events)
}

// Failure, recovery and silence, with a real OpenBao and MinIO, through `serve` (which
// judges recoveries from its history) and one-shot runs (which judge them from the
// destinations); a damaged copy found by verify; a receiver that is down changes no exit
// code, and no URL or secret is printed.
func TestNotifications(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	s := newServeSetup(t, "")
	seed(t, s.vault.Client())
	rc := startReceiver(t)
	secretFile := writeFile(t, filepath.Join(s.dir, "hook-secret"), hookSecret+"\n")
	base := readFile(t, s.config)

	t.Run("serve", func(t *testing.T) {
		// MinIO is the source's only destination: with MinIO stopped, the run fails.
		cfg := strings.Replace(base, "    kind: vault\n", "    kind: vault\n    destinations: [minio]\n", 1) +
			notifications(rc.url, secretFile, "")
		writeFile(t, s.config, cfg)
		p := s.serve(t)
		defer p.Stop()
		env := append([]string{"LIFEBOAT_TOKEN=" + s.token}, s.env...)
		backup := func(want int) {
			t.Helper()
			mustRun(t, want, env, "backup", "vault", "--server", s.base)
		}
		backup(0) // a first success is no news
		rc.expect(0, 0)

		s.minio.Stop()
		backup(1)
		evs := rc.expect(0, 1)
		if ev := evs[0]; ev.Event != "failure" || ev.Source != "vault" || ev.Status != "failed" || ev.Trigger != "api" ||
			len(ev.Destinations) != 1 || ev.Destinations[0].Name != "minio" || ev.Destinations[0].OK || ev.Error == "" ||
			ev.Version != 1 || ev.Host == "" || ev.Time.IsZero() {
			t.Errorf("failure notification: %+v", ev)
		}

		s.minio.Start()
		backup(0)
		evs = rc.expect(1, 2)
		if ev := evs[0]; ev.Event != "recovery" || ev.Previous != "failed" || ev.Status != "ok" || !ev.Destinations[0].OK {
			t.Errorf("recovery notification: %+v", ev)
		}
		backup(0)
		rc.expect(2, 2) // an ordinary success: nothing
	})

	t.Run("one-shot", func(t *testing.T) {
		writeFile(t, s.config, base+notifications(rc.url, secretFile, ""))
		s.minio.Stop()
		s.lifeboat(t, 2, "backup", "vault")
		evs := rc.expect(2, 3)
		if ev := evs[0]; ev.Event != "partial" || ev.Trigger != "cli" || len(ev.Destinations) != 2 ||
			!ev.Destinations[0].OK || ev.Destinations[1].OK {
			t.Errorf("partial notification: %+v", ev)
		}
		partial := evs[0].Backup
		s.minio.Start()
		// MinIO held older backups and lacks the partial run's: the destinations show
		// that the previous run failed there, so this success is a recovery.
		r := s.lifeboat(t, 0, "backup", "vault")
		evs = rc.expect(3, 4)
		if ev := evs[0]; ev.Event != "recovery" || ev.Previous != "partial" || ev.Backup == partial || !strings.Contains(r.stdout, ev.Backup) {
			t.Errorf("recovery notification: %+v\n%s", ev, r)
		}
		s.lifeboat(t, 0, "backup", "vault")
		rc.expect(4, 4)

		// A copy cut short in the directory: verify reports it DAMAGED, and so does the
		// notification.
		recovered := evs[0].Backup
		data, err := filepath.Glob(filepath.Join(s.localDir, "vault", recovered, "data.*"))
		if err != nil || len(data) != 1 {
			t.Fatalf("the local copy of %s: %v %v", recovered, data, err)
		}
		if err := os.Truncate(data[0], 100); err != nil {
			t.Fatal(err)
		}
		s.lifeboat(t, 2, "verify", recovered)
		evs = rc.expect(4, 5)
		if ev := evs[0]; ev.Event != "damaged-copy" || ev.Backup != recovered || len(ev.Copies) != 1 ||
			ev.Copies[0].Destination != "local" || ev.Copies[0].Problem != "damaged" || ev.Copies[0].Reason == "" {
			t.Errorf("damaged-copy notification: %+v", ev)
		}
	})

	t.Run("receiver down", func(t *testing.T) {
		down := closedURL(t)
		hookURL := down + "/hooks/lifeboat?token=WebhookQueryToken77"
		slackURL := down + "/services/T0000/B0000/SlackSecretToken99"
		slackFile := writeFile(t, filepath.Join(s.dir, "slack-url"), slackURL+"\n")
		writeFile(t, s.config, base+notifications(hookURL, secretFile, "    events: [failure, partial, success]\n")+fmt.Sprintf(`  - name: chat
    kind: slack
    slack: {url: {file: %s}}
    events: [partial, success]
`, slackFile))
		s.minio.Stop()
		partial := s.lifeboat(t, 2, "backup", "vault")
		s.minio.Start()
		ok := s.lifeboat(t, 0, "backup", "vault")
		for _, r := range []run{partial, ok} {
			out := r.stdout + r.stderr
			for _, leak := range []string{hookSecret, "SlackSecretToken99", "/services/", "WebhookQueryToken77", "/hooks/lifeboat"} {
				if strings.Contains(out, leak) {
					t.Errorf("lifeboat printed %q:\n%s", leak, r)
				}
			}
			if strings.Count(r.stderr, "notification not delivered") != 2 || !strings.Contains(r.stderr, "connection refused") {
				t.Errorf("the undelivered notifications are not reported:\n%s", r)
			}
		}
		rc.expect(5, 5) // the working receiver is not configured here
	})
}
