package catalog

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	tests := []struct {
		in     string
		want   Age
		canon  string
		cutoff time.Time // from t0
	}{
		{"36h", Age{Hours: 36}, "36h", t0.Add(-36 * time.Hour)},
		{"1d", Age{Days: 1}, "1d", t0.AddDate(0, 0, -1)},
		{"30d", Age{Days: 30}, "30d", time.Date(2026, 10, 21, 15, 30, 0, 0, time.UTC)},
		{"2w", Age{Weeks: 2}, "2w", t0.AddDate(0, 0, -14)},
		{"1d12h", Age{Days: 1, Hours: 12}, "1d12h", t0.Add(-36 * time.Hour)},
		{"12h1d", Age{Days: 1, Hours: 12}, "1d12h", t0.Add(-36 * time.Hour)},
		{"1y6m", Age{Years: 1, Months: 6}, "1y6m", time.Date(2025, 5, 20, 15, 30, 0, 0, time.UTC)},
		{"0d", Age{}, "0d", t0},
	}
	for _, tc := range tests {
		got, err := ParseAge(tc.in)
		if err != nil {
			t.Errorf("ParseAge(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want || got.String() != tc.canon || !got.Cutoff(t0).Equal(tc.cutoff) {
			t.Errorf("ParseAge(%q) = %+v (%s, cutoff %v), want %+v (%s, cutoff %v)",
				tc.in, got, got, got.Cutoff(t0), tc.want, tc.canon, tc.cutoff)
		}
	}
}

func TestParseAgeErrors(t *testing.T) {
	tests := map[string]string{
		"":        "empty",
		"-1d":     "negative",
		"30":      "number 30 has no unit",
		"30s":     `unknown unit "s"`,
		"1d1d":    "unit d given twice",
		"d":       `expected a number at "d"`,
		"1.5d":    `unknown unit "."`,
		"1 d":     `unknown unit " "`,
		"999999d": "too large",
	}
	for in, want := range tests {
		_, err := ParseAge(in)
		if err == nil {
			t.Errorf("ParseAge(%q) succeeded", in)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "h (hours), d (days), w (weeks)") {
			t.Errorf("ParseAge(%q) error %q, want %q and the allowed forms", in, err, want)
		}
	}
}

func TestAgeJSON(t *testing.T) {
	var p struct {
		A Age `json:"a"`
		B Age `json:"b,omitzero"`
	}
	if err := json.Unmarshal([]byte(`{"a":"1w2d"}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.A != (Age{Weeks: 1, Days: 2}) {
		t.Errorf("got %+v", p.A)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"a":"1w2d"}` {
		t.Errorf("Marshal = %s", out)
	}
	if err := json.Unmarshal([]byte(`{"a":30}`), &p); err == nil || !strings.Contains(err.Error(), `string such as "30d"`) {
		t.Errorf("number accepted or unclear error: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"a":"30x"}`), &p); err == nil || !strings.Contains(err.Error(), `unknown unit "x"`) {
		t.Errorf("bad unit accepted or unclear error: %v", err)
	}
}

func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"36h", "1y6m2w3d4h", "0d", "-1d", "1d1d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAge(s)
		if err != nil {
			return
		}
		b, err := ParseAge(a.String())
		if err != nil || a != b {
			t.Fatalf("ParseAge(%q) = %+v, but its String %q parses to %+v, %v", s, a, a.String(), b, err)
		}
	})
}
