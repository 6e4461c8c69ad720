package postgres

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
)

// settings are libpq connection keywords (host, port, dbname, user, sslmode, ...).
type settings map[string]string

// parseDSN reads a libpq URL or keyword/value string. Errors never quote the input: it
// may hold a password.
func parseDSN(dsn string) (settings, error) {
	dsn = strings.TrimSpace(dsn)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return parseURL(dsn)
	}
	return parseKeywordValue(dsn)
}

func parseURL(dsn string) (settings, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL, password included
		}
		return nil, fmt.Errorf("not a valid postgres:// URL: %v", err)
	}
	s := settings{}
	if u.User != nil {
		if name := u.User.Username(); name != "" {
			s["user"] = name
		}
		if pw, ok := u.User.Password(); ok {
			s["password"] = pw
		}
	}
	var hosts, ports []string
	anyPort := false
	for _, hp := range strings.Split(u.Host, ",") {
		if hp == "" {
			continue
		}
		h, p := splitHostPort(hp)
		hosts = append(hosts, h)
		ports = append(ports, p)
		anyPort = anyPort || p != ""
	}
	if len(hosts) > 0 {
		s["host"] = strings.Join(hosts, ",")
	}
	if anyPort {
		for i, p := range ports {
			if p == "" {
				ports[i] = "5432"
			}
		}
		s["port"] = strings.Join(ports, ",")
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		s["dbname"] = db
	}
	for k, v := range u.Query() {
		if len(v) > 0 {
			s[k] = v[len(v)-1]
		}
	}
	return s, nil
}

func splitHostPort(hp string) (host, port string) {
	if h, p, err := net.SplitHostPort(hp); err == nil {
		return h, p
	}
	return strings.Trim(hp, "[]"), ""
}

// parseKeywordValue follows libpq: keyword = value pairs separated by whitespace; a value
// may be single-quoted; a backslash escapes the next character.
func parseKeywordValue(s string) (settings, error) {
	out := settings{}
	prev := ""
	for {
		s = strings.TrimLeft(s, " \t\n\r\f\v")
		if s == "" {
			return out, nil
		}
		eq := strings.IndexByte(s, '=')
		key := ""
		if eq >= 0 {
			key = strings.TrimSpace(s[:eq])
		}
		if key == "" || strings.ContainsAny(key, " \t\n\r\f\v'") {
			// The stray word may be the tail of a password with an unquoted space, so it
			// is not quoted back.
			if prev == "" {
				return nil, errors.New("the connection string does not start with keyword=value")
			}
			return nil, fmt.Errorf("a word without \"=\" follows the value of %q in the connection string (quote values that contain spaces: %s='...')", prev, prev)
		}
		val, rest, err := readValue(strings.TrimLeft(s[eq+1:], " \t\n\r\f\v"))
		if err != nil {
			return nil, fmt.Errorf("connection string keyword %q: %w", key, err)
		}
		out[key] = val
		s, prev = rest, key
	}
}

func readValue(s string) (val, rest string, err error) {
	var b strings.Builder
	quoted := strings.HasPrefix(s, "'")
	if quoted {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case quoted && c == '\'':
			return b.String(), s[i+1:], nil
		case !quoted && strings.IndexByte(" \t\n\r\f\v", c) >= 0:
			return b.String(), s[i:], nil
		default:
			b.WriteByte(c)
		}
	}
	if quoted {
		return "", "", errors.New("unterminated quoted value")
	}
	return b.String(), "", nil
}

// String renders keyword/value form, keys sorted so command lines are reproducible.
func (s settings) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := strings.ReplaceAll(strings.ReplaceAll(s[k], `\`, `\\`), `'`, `\'`)
		parts[i] = k + "='" + v + "'"
	}
	return strings.Join(parts, " ")
}

func (s settings) clone() settings {
	out := make(settings, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

// DSNHasPassword reports whether a connection string carries a password: a password
// keyword (spaces around "=" are allowed, as in libpq), a password in a URL's user
// info, or a password query parameter. It parses with the same rules the connection
// uses, so no spelling libpq accepts slips past; a string that does not parse is an
// error (which never quotes it).
func DSNHasPassword(dsn string) (bool, error) {
	s, err := parseDSN(dsn)
	if err != nil {
		return false, err
	}
	for k := range s {
		if strings.EqualFold(k, "password") {
			return true, nil
		}
	}
	return false, nil
}
