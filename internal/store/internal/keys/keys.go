// Package keys holds the key rules every store enforces, so a key that one destination
// accepts is accepted by all of them (mirror copies keys between destinations verbatim).
package keys

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is S3's key limit, applied everywhere so a file destination cannot hold an object
// that cannot be mirrored to S3. The destination prefix is not counted.
const MaxLen = 1024

// Check returns an error naming what is wrong with key, or nil. A valid key is non-empty,
// relative, '/'-separated, and has no empty, "." or ".." segment, so it can never escape a
// file destination's root or alias another key.
func Check(key string) error {
	if reason := problem(key); reason != "" {
		return fmt.Errorf("invalid object key %q: %s (this is a bug in the caller: keys come from the catalog)", key, reason)
	}
	return nil
}

func problem(key string) string {
	switch {
	case key == "":
		return "empty key"
	case len(key) > MaxLen:
		return fmt.Sprintf("longer than %d bytes", MaxLen)
	case !utf8.ValidString(key):
		return "not valid UTF-8"
	case strings.HasPrefix(key, "/"):
		return "absolute key: keys are relative to the destination"
	case strings.ContainsAny(key, "\\\x00"):
		return "contains a backslash or NUL byte"
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return "empty path segment (a doubled or trailing '/')"
		case ".", "..":
			return "'.' or '..' path segment"
		}
	}
	return ""
}

// CheckPrefix validates a List prefix. A prefix need not end on a segment boundary ("a"
// matches "a-1" and "a/b"), but its complete segments must be valid key segments.
func CheckPrefix(prefix string) error {
	dir, _, found := cutLast(prefix, "/")
	if !found {
		if strings.ContainsAny(prefix, "\\\x00") {
			return fmt.Errorf("invalid list prefix %q: contains a backslash or NUL byte", prefix)
		}
		return nil
	}
	if err := Check(dir); err != nil {
		return fmt.Errorf("invalid list prefix %q: %w", prefix, err)
	}
	if strings.ContainsAny(prefix[len(dir):], "\\\x00") {
		return fmt.Errorf("invalid list prefix %q: contains a backslash or NUL byte", prefix)
	}
	return nil
}

// Dir is the part of prefix before its last '/', or "" when it has none.
func Dir(prefix string) string {
	dir, _, _ := cutLast(prefix, "/")
	return dir
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return "", s, false
}

// Relative is the key of a listed object name below a bucket prefix, and false for a name
// outside the prefix or one that is no valid key (an object lifeboat did not write, or a
// directory placeholder): List skips those instead of failing on them.
func Relative(name, prefix string) (string, bool) {
	key, ok := strings.CutPrefix(name, prefix)
	if !ok || Check(key) != nil {
		return "", false
	}
	return key, true
}
