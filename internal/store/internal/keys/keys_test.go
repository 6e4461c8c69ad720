package keys

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	valid := []string{"a", "a/b", "vault/vault-20250101T000000Z-ab12/data.snap.zst", "x/.y", "a..b", "-a/_b~c"}
	for _, k := range valid {
		if err := Check(k); err != nil {
			t.Errorf("Check(%q) = %v, want nil", k, err)
		}
	}
	invalid := []string{"", "/a", "a/", "a//b", "..", "a/../b", "./a", "a/.", `a\b`, "a\x00b", "\xff", strings.Repeat("x", MaxLen+1)}
	for _, k := range invalid {
		if err := Check(k); err == nil {
			t.Errorf("Check(%q) = nil, want an error", k)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, p := range []string{"", "a", "a/", "a/b", "a/b-", "vault/"} {
		if err := CheckPrefix(p); err != nil {
			t.Errorf("CheckPrefix(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"/", "/a", "../", "a/../", "a//", `a\`, `a/b\`} {
		if err := CheckPrefix(p); err == nil {
			t.Errorf("CheckPrefix(%q) = nil, want an error", p)
		}
	}
}
