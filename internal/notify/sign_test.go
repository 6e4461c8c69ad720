package notify

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignKnownVector(t *testing.T) {
	// printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 's3cr3t' -hex
	const want = "sha256=8dbbbbf4523b10bbb793e74d854144c45acccc2d233667b1c06b805b6ded8a84"
	if got := Sign([]byte("s3cr3t"), 1700000000, []byte(`{"a":1}`)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret, body := []byte("s3cr3t"), []byte(`{"a":1}`)
	now := time.Unix(1700000000, 0)
	sig := Sign(secret, now.Unix(), body)
	tests := []struct {
		name          string
		secret        []byte
		ts, sig, body string
		now           time.Time
		want          string // "" for valid
	}{
		{"valid", secret, "1700000000", sig, string(body), now.Add(time.Minute), ""},
		{"other secret", []byte("other"), "1700000000", sig, string(body), now, "does not match"},
		{"body changed", secret, "1700000000", sig, `{"a":2}`, now, "does not match"},
		{"timestamp changed", secret, "1700000001", sig, string(body), now, "does not match"},
		{"replayed later", secret, "1700000000", sig, string(body), now.Add(time.Hour), "away from now"},
		{"not a timestamp", secret, "yesterday", sig, string(body), now, "not Unix seconds"},
		{"no prefix", secret, "1700000000", strings.TrimPrefix(sig, "sha256="), string(body), now, "sha256="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.ts, tt.sig, []byte(tt.body), tt.now, 5*time.Minute)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Verify: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Verify = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// Verify takes its inputs from a request: whatever they are, it never panics and accepts
// only the signature Sign makes.
func FuzzVerify(f *testing.F) {
	f.Add("1700000000", "sha256=8dbbbbf4523b10bbb793e74d854144c45acccc2d233667b1c06b805b6ded8a84", []byte(`{"a":1}`))
	f.Add("-1", "sha256=", []byte{})
	f.Add("99999999999999999999", "sha256=zz", []byte("x"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		now := time.Unix(1700000000, 0)
		err := Verify([]byte("s3cr3t"), ts, sig, body, now, time.Hour)
		if err != nil {
			return
		}
		n, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || Sign([]byte("s3cr3t"), n, body) != sig {
			t.Fatalf("Verify accepted ts %q sig %q", ts, sig)
		}
	})
}
