package postgres

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a PostgreSQL release as its programs and server print it.
type Version struct {
	Text string // "15.18", "17beta1", "9.6.24"
	Num  int    // in server_version_num form: 150018, 170000, 90624
}

var versionRE = regexp.MustCompile(`(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:devel|alpha|beta|rc)\d*)?`)

// ParseVersion reads the release from `pg_dump --version` ("pg_dump (PostgreSQL) 15.18
// (Debian 15.18-0+deb12u1)"), `SHOW server_version` ("15.18 (Debian ...)") or a bare
// "16.2", "17beta1", "9.6.24".
func ParseVersion(s string) (Version, error) {
	rest := s
	if i := strings.Index(rest, "(PostgreSQL)"); i >= 0 {
		rest = rest[i+len("(PostgreSQL)"):]
	}
	m := versionRE.FindStringSubmatch(rest)
	if m == nil {
		return Version{}, fmt.Errorf("no PostgreSQL version in %q", strings.TrimSpace(s))
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	patch, _ := strconv.Atoi(m[3])
	if major == 0 {
		return Version{}, fmt.Errorf("no PostgreSQL version in %q", strings.TrimSpace(s))
	}
	// From 10 on the second number is the minor release; before, the major was x.y.
	num := major*10000 + minor
	if major < 10 {
		num = major*10000 + minor*100 + patch
	}
	return Version{Text: m[0], Num: num}, nil
}

// Major is the major release as package names use it: "15", "9.6".
func (v Version) Major() string {
	if v.Num >= 100000 {
		return strconv.Itoa(v.Num / 10000)
	}
	return fmt.Sprintf("%d.%d", v.Num/10000, v.Num/100%100)
}

func (v Version) majorNum() int {
	if v.Num >= 100000 {
		return v.Num / 10000 * 10000
	}
	return v.Num / 100 * 100
}

// olderMajor reports whether v's major release is older than other's.
func (v Version) olderMajor(other Version) bool { return v.majorNum() < other.majorNum() }

func (v Version) String() string { return v.Text }
