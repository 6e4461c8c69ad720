package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a Go duration written as a string in the config ("90s", "5m", "1h30m").
type Duration struct {
	time.Duration
}

// MarshalJSON writes the duration as a string such as "5m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON accepts a Go duration string; null leaves d unchanged.
func (d *Duration) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("must be a duration such as \"90s\", \"5m\" or \"1h30m\" (got %s)", data)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("must be a duration such as \"90s\", \"5m\" or \"1h30m\" (got %q); units: ns, us, ms, s, m, h", s)
	}
	d.Duration = v
	return nil
}
