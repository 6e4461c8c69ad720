package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// objectLock under an s3 destination: mode and retainFor are required, and each problem
// names its field.
func TestObjectLock(t *testing.T) {
	tests := []struct {
		name   string
		lock   string // the s3 block's objectLock value
		want   string // the one expected problem; "" for none
		mode   string
		retain time.Duration
	}{
		{"governance for 30 days", `{mode: governance, retainFor: 30d}`, "", LockGovernance, 30 * 24 * time.Hour},
		{"compliance with days and hours", `{mode: compliance, retainFor: 1d12h}`, "", LockCompliance, 36 * time.Hour},
		{"seconds, as tests use", `{mode: governance, retainFor: 5s}`, "", LockGovernance, 5 * time.Second},
		{"mode missing", `{retainFor: 30d}`, "destinations[1].s3.objectLock.mode: required: governance or compliance", "", 0},
		{"S3's upper-case mode", `{mode: GOVERNANCE, retainFor: 30d}`,
			`destinations[1].s3.objectLock.mode: must be one of governance, compliance (got "GOVERNANCE")`, "", 0},
		{"legal hold is not a mode", `{mode: legalhold, retainFor: 30d}`,
			`destinations[1].s3.objectLock.mode: must be one of governance, compliance (got "legalhold")`, "", 0},
		{"retainFor missing", `{mode: governance}`,
			`destinations[1].s3.objectLock.retainFor: required: how long each object stays locked, e.g. "30d"`, "", 0},
		{"retainFor below a second", `{mode: governance, retainFor: 500ms}`,
			"destinations[1].s3.objectLock.retainFor: must be at least 1s (got 500ms)", "", 0},
		{"negative retainFor", `{mode: compliance, retainFor: "-1h"}`,
			"destinations[1].s3.objectLock.retainFor: must be at least 1s (got -1h0m0s)", "", 0},
		{"retainFor in months is not a duration", `{mode: governance, retainFor: 1mo}`,
			`destinations[1].s3.objectLock.retainFor: must be a duration such as "90s", "5m", "1h30m" or "30d" (got "1mo")`, "", 0},
		{"unknown field", `{mode: governance, retainFor: 30d, retainUntil: "2030-01-01"}`,
			`destinations[1].s3.objectLock.retainUntil: unknown field`, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(okSources + okDests + "  - {name: offsite, kind: s3, s3: {bucket: backups, objectLock: " + tc.lock + "}}\n"))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				l := c.Destinations[1].S3.ObjectLock
				if l == nil || l.Mode != tc.mode || l.RetainFor.Duration != tc.retain {
					t.Errorf("objectLock = %+v, want mode %s retainFor %s", l, tc.mode, tc.retain)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) != 1 {
				t.Fatalf("Parse = %v, want exactly one problem containing %q", err, tc.want)
			}
			if got := ve.Errors[0].Error(); !strings.Contains(got, tc.want) {
				t.Errorf("problem %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90s", 90 * time.Second, false},
		{"1h30m", 90 * time.Minute, false},
		{"30d", 30 * 24 * time.Hour, false},
		{"0d", 0, false},
		{"1d12h", 36 * time.Hour, false},
		{"2d30m15s", 48*time.Hour + 30*time.Minute + 15*time.Second, false},
		{"36600d", 36600 * 24 * time.Hour, false},
		{"36601d", 0, true},
		{"d", 0, true},
		{"1.5d", 0, true},
		{"-1d", 0, true},
		{"+1d", 0, true},
		{"1d-1h", 0, true},
		{"1d1d", 0, true},
		{"12h1d", 0, true},
		{"1d2562047h", 0, true}, // past time.Duration's range
		{"1w", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// ParseDuration never panics, and what it accepts is never negative when it has days.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "1d12h", "90s", "-5m", "9999999d", "1d-", "d1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && strings.Contains(s, "d") && d < 0 {
			t.Errorf("ParseDuration(%q) = %v: days never make a negative duration", s, d)
		}
	})
}
