package postgres

import "testing"

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in    string
		text  string
		num   int
		major string
	}{
		{"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", "15.18", 150018, "15"},
		{"pg_dumpall (PostgreSQL) 14.11", "14.11", 140011, "14"},
		{"15.18 (Debian 15.18-0+deb12u1)", "15.18", 150018, "15"},
		{"16.2", "16.2", 160002, "16"},
		{"17beta1", "17beta1", 170000, "17"},
		{"pg_dump (PostgreSQL) 18devel", "18devel", 180000, "18"},
		{"9.6.24", "9.6.24", 90624, "9.6"},
		{"PostgreSQL 12.3 on x86_64-pc-linux-gnu", "12.3", 120003, "12"},
	} {
		v, err := ParseVersion(tc.in)
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tc.in, err)
			continue
		}
		if v.Text != tc.text || v.Num != tc.num || v.Major() != tc.major {
			t.Errorf("ParseVersion(%q) = %q/%d/%s, want %q/%d/%s", tc.in, v.Text, v.Num, v.Major(), tc.text, tc.num, tc.major)
		}
	}
	for _, bad := range []string{"", "pg_dump (PostgreSQL)", "command not found"} {
		if v, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) = %v, want an error", bad, v)
		}
	}
}

func TestOlderMajor(t *testing.T) {
	v := func(s string) Version { return mustVersion(t, s) }
	for _, tc := range []struct {
		client, server string
		older          bool
	}{
		{"14.11", "15.18", true},
		{"15.1", "15.18", false}, // minor releases do not matter
		{"16.2", "15.18", false},
		{"17beta1", "17.0", false},
		{"9.6.24", "10.1", true},
		{"9.5.3", "9.6.1", true},
		{"9.6.1", "9.6.24", false},
	} {
		if got := v(tc.client).olderMajor(v(tc.server)); got != tc.older {
			t.Errorf("%s older than %s = %v, want %v", tc.client, tc.server, got, tc.older)
		}
	}
}

// mustVersion parses a version the test knows is good.
func mustVersion(t *testing.T, s string) Version {
	t.Helper()
	out, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
