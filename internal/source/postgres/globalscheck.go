package postgres

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// A backup's globals.sql goes to psql, and psql obeys its meta-commands: `\! cmd` runs a
// shell command on the host lifeboat restores from, `\o`/`\w` write files, `\i` reads
// them. Whoever can write to a destination must not be able to run code that way, so
// lifeboat hands psql only what pg_dumpall --globals-only writes (see
// src/bin/pg_dump/pg_dumpall.c: dumpRoles, dumpRoleMembership, dumpRoleGUCPrivs,
// dumpTablespaces, dumpUserConfig):
//
//   - comments, blank lines, and `\restrict <key>` / `\unrestrict <key>` (pg_dumpall
//     17.6, 16.10, 15.14, 14.19, 13.22 and later), which lifeboat leaves out;
//   - SET of the few parameters its header sets (standard_conforming_strings only on,
//     client_encoding only a server encoding);
//   - CREATE/ALTER ROLE, CREATE/ALTER TABLESPACE, COMMENT ON and SECURITY LABEL ON a
//     role or tablespace, GRANT/REVOKE of role memberships and of privileges on a
//     tablespace or a parameter.
//
// checkGlobals lexes the file the way psql does (psqlscan.l, fed one line at a time by
// psql's MainLoop) where it matters: a backslash outside quoted text starts a
// meta-command, anywhere on a line. Quoted text is a single-quoted string (E'...' with
// backslash escapes), a double-quoted identifier, a dollar-quoted string, or a comment.
// psql continues a string in its own kind after "'<blanks><newline><blanks>'" only
// within one input line, that is over a carriage return: at the end of a line it ends
// the string, and a quote on the next line opens a plain one (the server, which sees the
// lines joined, reads such a continuation differently; only psql's reading matters here).
// tests compare this with a real psql. Whatever
// the lexer cannot tell apart from psql exactly is refused rather than guessed: a `$`
// inside a word (psql's identifiers may hold one, its numbers may not), a `:` outside
// quotes (psql substitutes variables there and lexes their values again), a NUL byte.
// Because only SET standard_conforming_strings = on is accepted, plain strings keep
// backslashes literal for psql as they do here.

// globalsError says which line of globals.sql was refused and why.
type globalsError struct {
	Line   int
	Text   string // the line, shortened
	Reason string
}

func (e *globalsError) Error() string {
	return fmt.Sprintf("globals.sql line %d (%s): %s; lifeboat hands psql only what pg_dumpall --globals-only writes, so nothing was restored: this globals.sql was altered or not written by pg_dumpall; check where the backup came from, or restore without --globals",
		e.Line, e.Text, e.Reason)
}

// restrictLineRE is pg_dumpall's \restrict or \unrestrict line: the key is alphanumeric.
var restrictLineRE = regexp.MustCompile(`^\\(restrict|unrestrict) [A-Za-z0-9]{1,256}[ \t\r]*$`)

// serverEncodings are the encodings a server can have (pg_wchar.h: PG_VALID_BE_ENCODING),
// named as pg_encname normalises them (letters and digits, lower case), with aliases.
// The client-only ones (SJIS, BIG5, GBK, UHC, GB18030, JOHAB, SHIFT_JIS_2004) are left
// out: in them a second byte of a character may be a backslash or a quote, which psql
// reads differently from a byte-wise lexer.
var serverEncodings = func() map[string]bool {
	m := map[string]bool{"utf8": true, "unicode": true, "sqlascii": true, "koi8r": true, "koi8": true, "koi8u": true,
		"euccn": true, "eucjp": true, "eucjis2004": true, "euckr": true, "euctw": true, "muleinternal": true,
		"win866": true, "alt": true, "win874": true, "iso88595": true, "iso88596": true, "iso88597": true, "iso88598": true,
		"iso885913": true, "iso885914": true, "iso885915": true, "iso885916": true}
	for i := 1; i <= 10; i++ {
		m[fmt.Sprintf("latin%d", i)] = true
	}
	for i := 1; i <= 4; i++ {
		m[fmt.Sprintf("iso8859%d", i)] = true
	}
	for i := 1250; i <= 1258; i++ {
		m[fmt.Sprintf("win%d", i)] = true
	}
	return m
}()

// headerParams are the parameters a SET in globals.sql may set: pg_dumpall's header sets
// the first three; the others only bound the session.
var headerParams = map[string]bool{
	"default_transaction_read_only": true, "client_encoding": true, "standard_conforming_strings": true,
	"statement_timeout": true, "lock_timeout": true, "idle_in_transaction_session_timeout": true,
	"transaction_timeout": true, "client_min_messages": true, "row_security": true,
}

// token is one lexical item of a statement: a word (upper-cased), a quoted string
// (kind: a single quote), a quoted identifier (a double quote) or a punctuation byte.
type token struct {
	kind byte // 'w' word, '\'' string, '"' identifier, or the punctuation byte
	text string
}

// globalsLexer walks globals.sql once.
type globalsLexer struct {
	data       []byte
	i, line    int
	out        bytes.Buffer
	stmt       []token
	stmtLine   int  // where the current statement starts (0: none yet)
	lineBegin  int  // offset of the current line's start
	afterStr   byte // kind of the last string ('\'' or 'E') while only blanks and -- comments followed it on its line
	sawNewline bool // a carriage return since afterStr was set: a quote now continues that string
}

// checkGlobals checks globals.sql and returns it as psql gets it: unchanged but for the
// \restrict and \unrestrict lines, which are left out.
func checkGlobals(data []byte) ([]byte, error) {
	l := &globalsLexer{data: data, line: 1}
	if err := l.run(); err != nil {
		return nil, err
	}
	return l.out.Bytes(), nil
}

func (l *globalsLexer) fail(line int, format string, args ...any) error {
	return &globalsError{Line: line, Text: l.lineText(line), Reason: fmt.Sprintf(format, args...)}
}

// lineText is line n of the file, quoted and shortened for an error.
func (l *globalsLexer) lineText(n int) string {
	lines := bytes.SplitN(l.data, []byte("\n"), n+1)
	if n < 1 || n > len(lines) {
		return "end of file"
	}
	s := strings.TrimRight(string(lines[n-1]), "\r")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (l *globalsLexer) newline(at int) {
	l.line++
	l.lineBegin = at + 1
}

func (l *globalsLexer) run() error {
	start := 0 // the output copies data[start:l.i] when a \restrict line is skipped
	for l.i < len(l.data) {
		c := l.data[l.i]
		switch {
		case c == 0:
			return l.fail(l.line, "a NUL byte: globals.sql is text")
		case c == '\n':
			// psql lexes line by line: a string that closed on an earlier line is over.
			l.newline(l.i)
			l.afterStr = 0
			l.i++
		case c == '\r':
			// Within a line, a carriage return is the newline of a string continuation.
			if l.afterStr != 0 {
				l.sawNewline = true
			}
			l.i++
		case c == ' ' || c == '\t' || c == '\f':
			l.i++
		case c < 0x20 || c == 0x7f:
			// psql 15 does not count \v as white space, psql 16 does: which reading
			// applies decides whether a string continues on the next line.
			return l.fail(l.line, "a control character (0x%02x) outside quoted text", c)
		case c == '-' && l.peek(1) == '-':
			// A comment ends at either newline, as in psql.
			for l.i < len(l.data) && l.data[l.i] != '\n' && l.data[l.i] != '\r' {
				l.i++
			}
		case c == '/' && l.peek(1) == '*':
			l.afterStr = 0
			if err := l.blockComment(); err != nil {
				return err
			}
		case c == '\\':
			if len(l.stmt) > 0 || len(bytes.TrimSpace(l.data[l.lineBegin:l.i])) > 0 {
				return l.fail(l.line, "a backslash outside quoted text, which psql reads as a meta-command (such as \\! that runs a shell command)")
			}
			end := bytes.IndexByte(l.data[l.i:], '\n')
			if end < 0 {
				end = len(l.data)
			} else {
				end += l.i
			}
			if !restrictLineRE.Match(l.data[l.i:end]) {
				return l.fail(l.line, "a psql meta-command (a line starting with a backslash outside quoted text): psql would run it (\\! runs a shell command)")
			}
			l.out.Write(l.data[start:l.lineBegin])
			if end < len(l.data) {
				l.newline(end)
				end++
			}
			l.i, start = end, end
		case c == '\'':
			kind := byte('\'')
			if l.afterStr != 0 && l.sawNewline {
				kind = l.afterStr // psql continues the string in its own kind
			}
			if err := l.quoted(kind); err != nil {
				return err
			}
		case c == '"':
			l.afterStr = 0
			if err := l.identifier(); err != nil {
				return err
			}
		case c == '$':
			l.afterStr = 0
			if err := l.dollar(); err != nil {
				return err
			}
		case c == ':':
			return l.fail(l.line, "a colon outside quoted text, where psql substitutes its variables")
		case c == ';':
			l.afterStr = 0
			if err := l.endStatement(); err != nil {
				return err
			}
			l.i++
		case isIdentByte(c):
			l.afterStr = 0
			if err := l.word(); err != nil {
				return err
			}
		default:
			l.afterStr = 0
			l.add(token{kind: c, text: string(c)})
			l.i++
		}
	}
	if err := l.endStatement(); err != nil {
		return err
	}
	l.out.Write(l.data[start:])
	return nil
}

func (l *globalsLexer) peek(n int) byte {
	if l.i+n < len(l.data) {
		return l.data[l.i+n]
	}
	return 0
}

func (l *globalsLexer) add(t token) {
	if len(l.stmt) == 0 {
		l.stmtLine = l.line
	}
	l.stmt = append(l.stmt, t)
}

// word reads an identifier, keyword or number. E'...' is an escape string.
func (l *globalsLexer) word() error {
	from := l.i
	for l.i < len(l.data) && isIdentByte(l.data[l.i]) {
		l.i++
	}
	if l.i < len(l.data) && l.data[l.i] == '$' {
		return l.fail(l.line, "a $ inside a word, which psql and a plain lexer may read differently")
	}
	w := string(l.data[from:l.i])
	if (w == "E" || w == "e") && l.i < len(l.data) && l.data[l.i] == '\'' {
		if from > 0 && l.data[from-1] == '.' {
			// psql reads "1.E" as one (malformed) number and the quote after it as a
			// plain string, not an escape string.
			return l.fail(l.line, "an E'...' string right after a dot, which psql may read as part of a number")
		}
		return l.quoted('E')
	}
	l.add(token{kind: 'w', text: strings.ToUpper(w)})
	return nil
}

// quoted reads a single-quoted string from its opening quote; kind 'E' takes backslash
// escapes.
func (l *globalsLexer) quoted(kind byte) error {
	line := l.line
	l.i++
	var b strings.Builder
	for l.i < len(l.data) {
		c := l.data[l.i]
		switch {
		case c == 0:
			return l.fail(l.line, "a NUL byte: globals.sql is text")
		case c == '\n':
			l.newline(l.i)
		case c == '\\' && kind == 'E':
			if l.i+1 < len(l.data) {
				if l.data[l.i+1] == '\n' {
					l.newline(l.i + 1)
				}
				b.WriteByte(l.data[l.i+1])
				l.i += 2
				continue
			}
		case c == '\'':
			if l.peek(1) == '\'' {
				b.WriteByte('\'')
				l.i += 2
				continue
			}
			l.i++
			l.add(token{kind: '\'', text: b.String()})
			l.afterStr, l.sawNewline = kind, false
			return nil
		}
		if c != '\\' || kind != 'E' {
			b.WriteByte(c)
		}
		l.i++
	}
	return l.fail(line, "a quoted string that never ends")
}

// identifier reads a double-quoted identifier.
func (l *globalsLexer) identifier() error {
	line := l.line
	l.i++
	var b strings.Builder
	for l.i < len(l.data) {
		c := l.data[l.i]
		switch {
		case c == 0:
			return l.fail(l.line, "a NUL byte: globals.sql is text")
		case c == '\n':
			l.newline(l.i)
		case c == '"':
			if l.peek(1) == '"' {
				b.WriteByte('"')
				l.i += 2
				continue
			}
			l.i++
			l.add(token{kind: '"', text: b.String()})
			return nil
		}
		b.WriteByte(c)
		l.i++
	}
	return l.fail(line, "a quoted identifier that never ends")
}

// dollarDelimRE is psql's dolqdelim: $tag$ with an optional identifier-like tag.
var dollarDelimRE = regexp.MustCompile(`^\$(?:[A-Za-z\x80-\xff_][A-Za-z\x80-\xff_0-9]*)?\$`)

// dollar reads a dollar-quoted string from its opening delimiter.
func (l *globalsLexer) dollar() error {
	line := l.line
	delim := dollarDelimRE.Find(l.data[l.i:])
	if delim == nil {
		return l.fail(l.line, "a $ that does not open a dollar-quoted string")
	}
	body := l.i + len(delim)
	end := bytes.Index(l.data[body:], delim)
	if end < 0 {
		return l.fail(line, "a dollar-quoted string that never ends")
	}
	text := l.data[body : body+end]
	if bytes.IndexByte(text, 0) >= 0 {
		return l.fail(line, "a NUL byte: globals.sql is text")
	}
	for j := l.i; j < body+end+len(delim); j++ {
		if l.data[j] == '\n' {
			l.newline(j)
		}
	}
	l.i = body + end + len(delim)
	l.add(token{kind: '\'', text: string(text)})
	return nil
}

// blockComment skips a /* */ comment; they nest.
func (l *globalsLexer) blockComment() error {
	line, depth := l.line, 0
	for l.i < len(l.data) {
		switch {
		case l.data[l.i] == 0:
			return l.fail(l.line, "a NUL byte: globals.sql is text")
		case l.data[l.i] == '\n':
			l.newline(l.i)
		case l.data[l.i] == '/' && l.peek(1) == '*':
			depth++
			l.i += 2
			continue
		case l.data[l.i] == '*' && l.peek(1) == '/':
			depth--
			l.i += 2
			if depth == 0 {
				return nil
			}
			continue
		}
		l.i++
	}
	return l.fail(line, "a comment that never ends")
}

// endStatement checks the statement just read against what pg_dumpall writes.
func (l *globalsLexer) endStatement() error {
	stmt := l.stmt
	l.stmt = nil
	if len(stmt) == 0 {
		return nil
	}
	if reason := refuseStatement(stmt); reason != "" {
		return l.fail(l.stmtLine, "%s", reason)
	}
	return nil
}

func words(stmt []token, n int) string {
	var w []string
	for _, t := range stmt {
		if len(w) == n || t.kind != 'w' {
			break
		}
		w = append(w, t.text)
	}
	return strings.Join(w, " ")
}

// refuseStatement says why a statement is not one pg_dumpall --globals-only writes, or "".
func refuseStatement(stmt []token) string {
	first := words(stmt, 1)
	switch first {
	case "SET":
		return refuseSet(stmt)
	case "CREATE", "ALTER":
		switch words(stmt, 2) {
		case first + " ROLE", first + " TABLESPACE":
			return ""
		}
	case "COMMENT":
		switch words(stmt, 3) {
		case "COMMENT ON ROLE", "COMMENT ON TABLESPACE":
			return ""
		}
	case "SECURITY":
		// SECURITY LABEL [FOR provider] ON ROLE|TABLESPACE
		if words(stmt, 2) == "SECURITY LABEL" {
			for i, t := range stmt {
				if t.kind == 'w' && t.text == "ON" && i+1 < len(stmt) {
					if next := stmt[i+1]; next.kind == 'w' && (next.text == "ROLE" || next.text == "TABLESPACE") {
						return ""
					}
					break
				}
			}
		}
	case "GRANT", "REVOKE":
		// A role membership (no ON before TO/FROM), or a privilege on a tablespace or a
		// parameter.
		for i, t := range stmt {
			if t.kind != 'w' {
				continue
			}
			if t.text == "TO" || t.text == "FROM" {
				return ""
			}
			if t.text == "ON" {
				if i+1 < len(stmt) && stmt[i+1].kind == 'w' && (stmt[i+1].text == "TABLESPACE" || stmt[i+1].text == "PARAMETER") {
					return ""
				}
				break
			}
		}
		return fmt.Sprintf("%s of something other than a role membership or a privilege on a tablespace or a parameter", first)
	}
	what := words(stmt, 2)
	if what == "" {
		what = stmt[0].text
	}
	return fmt.Sprintf("a %s statement, which pg_dumpall --globals-only never writes (it writes roles, memberships, role settings, tablespaces and comments on them)", what)
}

// refuseSet allows the SETs of pg_dumpall's header; standard_conforming_strings must stay
// on and client_encoding a server encoding, or psql would read quotes and backslashes
// differently from checkGlobals.
func refuseSet(stmt []token) string {
	if len(stmt) < 4 || stmt[1].kind != 'w' || !(stmt[2].kind == '=' || (stmt[2].kind == 'w' && stmt[2].text == "TO")) {
		return "a SET of another form than pg_dumpall's `SET name = value`"
	}
	param := strings.ToLower(stmt[1].text)
	if !headerParams[param] {
		return fmt.Sprintf("a SET of %s, which pg_dumpall --globals-only does not set", param)
	}
	if len(stmt) != 4 || (stmt[3].kind != 'w' && stmt[3].kind != '\'') {
		return fmt.Sprintf("a SET of %s to more than one value", param)
	}
	value := strings.ToLower(stmt[3].text)
	switch param {
	case "standard_conforming_strings":
		if value != "on" {
			return "SET standard_conforming_strings to other than on: psql would then take backslashes in strings as escapes"
		}
	case "client_encoding":
		norm := strings.Map(func(r rune) rune {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				return r
			}
			return -1
		}, value)
		if !serverEncodings[norm] {
			return fmt.Sprintf("SET client_encoding to %q, which is not a server encoding (pg_dumpall writes the server's)", stmt[3].text)
		}
	}
	return ""
}
