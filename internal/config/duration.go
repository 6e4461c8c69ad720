package config

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a Go duration written as a string in the config ("90s", "5m", "1h30m"),
// plus a leading number of days ("30d", "1d12h"), since retention-like settings
// (objectLock.retainFor) are counted in days. A day is 24 hours here, not a calendar day.
type Duration struct {
	time.Duration
}

// maxDurationDays keeps a number of days far from time.Duration's ~292 years.
const maxDurationDays = 100 * 366

// MarshalJSON writes the duration as a string such as "5m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON accepts a Go duration string, optionally after a number of days; null
// leaves d unchanged.
func (d *Duration) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("must be a duration such as \"90s\", \"5m\", \"1h30m\" or \"30d\" (got %s)", data)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// ParseDuration parses what Duration accepts: "90s", "1h30m", "30d", "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("must be a duration such as \"90s\", \"5m\", \"1h30m\" or \"30d\" (got %q); units: ns, us, ms, s, m, h, "+
		"and d (24h) first", s)
	// No Go duration unit contains a 'd', so a 'd' can only be the days unit.
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, bad
		}
		return v, nil
	}
	n, err := strconv.Atoi(days)
	if err != nil || n < 0 || days == "" || days[0] == '+' {
		return 0, bad
	}
	if n > maxDurationDays {
		return 0, fmt.Errorf("must be at most %d days (got %q)", maxDurationDays, s)
	}
	v := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return v, nil
	}
	if rest[0] == '-' || rest[0] == '+' {
		return 0, bad
	}
	r, err := time.ParseDuration(rest)
	if err != nil || r > math.MaxInt64-v {
		return 0, bad
	}
	return v + r, nil
}
