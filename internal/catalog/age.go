package catalog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Age is a calendar span such as "30d" or "1y6m", used by keepWithin. Units follow
// restic's --keep-within: y (years), m (MONTHS, not minutes), w (weeks), d (days),
// h (hours). Years and months are calendar steps (time.AddDate), not fixed lengths.
type Age struct {
	Years, Months, Weeks, Days, Hours int
}

const ageForms = `write numbers with units, combined like "36h", "30d", "2w", "1d12h" or "1y6m": ` +
	`h (hours), d (days), w (weeks), m (months), y (years)`

// maxAgeNumber keeps every AddDate argument far from overflow.
const maxAgeNumber = 100000

// ParseAge parses a span like "30d" or "1d12h". Each unit may appear once, in any order.
func ParseAge(s string) (Age, error) {
	bad := func(why string) (Age, error) {
		return Age{}, fmt.Errorf("invalid age %q: %s; %s", s, why, ageForms)
	}
	if s == "" {
		return bad("empty")
	}
	if strings.HasPrefix(s, "-") {
		return bad("negative ages are not allowed")
	}
	var a Age
	seen := map[byte]bool{}
	for rest := s; rest != ""; {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return bad(fmt.Sprintf("expected a number at %q", rest))
		}
		if i == len(rest) {
			return bad(fmt.Sprintf("number %s has no unit", rest))
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > maxAgeNumber {
			return bad(fmt.Sprintf("number %s is too large", rest[:i]))
		}
		unit := rest[i]
		if seen[unit] {
			return bad(fmt.Sprintf("unit %c given twice", unit))
		}
		seen[unit] = true
		switch unit {
		case 'y':
			a.Years = n
		case 'm':
			a.Months = n
		case 'w':
			a.Weeks = n
		case 'd':
			a.Days = n
		case 'h':
			a.Hours = n
		default:
			return bad(fmt.Sprintf("unknown unit %q", rest[i:i+1]))
		}
		rest = rest[i+1:]
	}
	return a, nil
}

// IsZero reports whether the age spans no time (keepWithin is then off).
func (a Age) IsZero() bool { return a == Age{} }

// Cutoff returns the instant a before t.
func (a Age) Cutoff(t time.Time) time.Time {
	return t.AddDate(-a.Years, -a.Months, -(7*a.Weeks + a.Days)).Add(-time.Duration(a.Hours) * time.Hour)
}

// String returns the canonical form, e.g. "1y6m" or "1d12h"; the zero Age is "0d".
func (a Age) String() string {
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{a.Years, "y"}, {a.Months, "m"}, {a.Weeks, "w"}, {a.Days, "d"}, {a.Hours, "h"}} {
		if p.n != 0 {
			b.WriteString(strconv.Itoa(p.n) + p.unit)
		}
	}
	if b.Len() == 0 {
		return "0d"
	}
	return b.String()
}

// MarshalJSON writes the age as a string, so it round-trips through YAML config.
func (a Age) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON accepts a string such as "30d"; null leaves the age unchanged.
func (a *Age) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("age must be a string such as \"30d\" (got %s)", data)
	}
	v, err := ParseAge(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}
