package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook delivery.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, under the notifier's secret,
	// of the timestamp header's value, a ".", and the body.
	HeaderSignature = "X-Lifeboat-Signature"
	// HeaderTimestamp is when the request was signed, in Unix seconds. It is signed with
	// the body, so a receiver that refuses old timestamps refuses replays.
	HeaderTimestamp = "X-Lifeboat-Timestamp"
	HeaderEvent     = "X-Lifeboat-Event"
	HeaderDelivery  = "X-Lifeboat-Delivery" // the event's id, the same in every retry
)

// Sign is the HeaderSignature value of body sent at timestamp ts.
func Sign(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify is what a receiver does with a delivery: the signature must match the
// timestamp and body under secret, and the timestamp must be within tolerance of now.
// Receivers written in Go may call it; docs/notifications.md shows the same in shell.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not Unix seconds", HeaderTimestamp, timestamp)
	}
	if !strings.HasPrefix(signature, "sha256=") {
		return fmt.Errorf("%s does not start with sha256=", HeaderSignature)
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("signature does not match: another secret, or the body or timestamp was changed")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp is %s away from now, more than %s: a replay, or a clock off", d.Round(time.Second), tolerance)
	}
	return nil
}
