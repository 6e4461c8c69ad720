package postgres

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

// What pg_dumpall --globals-only writes passes, without its \restrict lines.
func TestCheckGlobalsAcceptsPgDumpall(t *testing.T) {
	for _, name := range []string{"testdata/globals-pg15.sql", "testdata/globals-pg17.sql"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			out, err := checkGlobals(data)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if bytes.Contains(out, []byte(`\restrict`)) || bytes.Contains(out, []byte(`\unrestrict`)) {
				t.Errorf("the \\restrict lines reach psql:\n%s", out)
			}
			want := restrictLines.ReplaceAll(data, nil)
			if !bytes.Equal(out, want) {
				t.Errorf("changed other than the \\restrict lines:\n%s", out)
			}
		})
	}
}

func TestCheckGlobals(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int    // 0: accepted
		reason   string // part of the error
	}{
		{"shell", "CREATE ROLE a;\n\\! touch /tmp/lifeboat-pwned\n", 2, "meta-command"},
		{"shell indented", "CREATE ROLE a;\n   \\! id\n", 2, "meta-command"},
		{"after a statement on its line", "CREATE ROLE a; \\! id\n", 1, "backslash outside quoted text"},
		{"inside a statement", "CREATE ROLE a\n\\o /tmp/x\n;", 2, "backslash outside quoted text"},
		{"semicolon escape", "CREATE ROLE a\\;\n", 1, "backslash outside quoted text"},
		{"include", "\\i /etc/passwd\n", 1, "meta-command"},
		{"restrict with more", "\\restrict abc \\! id\n", 1, "meta-command"},
		{"restrict then command", "\\restrict abc\n\\! id\n", 2, "meta-command"},
		{"restrict dropped", "\\restrict abc\nCREATE ROLE a;\n\\unrestrict abc\n", 0, ""},
		{"backslash in a plain string", "COMMENT ON ROLE a IS 'x \\! y';\n", 0, ""},
		{"meta line in a multi-line string", "COMMENT ON ROLE a IS 'one\n\\! touch /tmp/x\n';\n", 0, ""},
		{"meta line in a dollar-quoted string", "COMMENT ON ROLE a IS $q$one\n\\! touch /tmp/x\n$q$;\n", 0, ""},
		{"meta line in an escape string", "COMMENT ON ROLE a IS E'one\\'\n\\! touch /tmp/x\n';\n", 0, ""},
		{"escape string ends at an escaped quote's next quote", "COMMENT ON ROLE a IS E'it\\'s'; \\! id\n", 1, "backslash outside"},
		// psql ends the string at the end of its line: the next line's quote opens a
		// plain string (which here never ends).
		{"escape string not continued on the next line", "COMMENT ON ROLE a IS E'x'\n'abc\\'' \\! touch /tmp/x\n;", 2, "never ends"},
		{"escape string not continued on the next line, meta", "COMMENT ON ROLE a IS E'x'\n'\\' \\! y ';\n", 2, "backslash outside"},
		{"escape string continued after a carriage return, harmless", "COMMENT ON ROLE a IS E'x'\r'\\' \\! y ';\n", 0, ""},
		{"escape string continued after a carriage return", "COMMENT ON ROLE a IS E'x'\r'abc\\'' \\! touch /tmp/x\r;", 1, "backslash outside"},
		{"comment ends at a carriage return", "CREATE ROLE a; -- c\r\\! touch /tmp/x\n", 1, "backslash outside"},
		{"vertical tab", "COMMENT ON ROLE a IS E'x'\v\n'\\' \\! touch /tmp/x ';\n", 1, "control character"},
		{"escape string after a number's dot", "COMMENT ON ROLE a IS 1.E'\\' \\! touch /tmp/x';\n", 1, "right after a dot"},
		{"CRLF file", "SET standard_conforming_strings = on;\r\nCREATE ROLE a;\r\nCOMMENT ON ROLE a IS E'x\\\\'\r\n'y';\r\n", 0, ""},
		{"plain string not continued on the same line", "COMMENT ON ROLE a IS E'x' '\\';\n", 0, ""},
		{"meta in a quoted identifier", "CREATE ROLE \"a\\!b\";\n", 0, ""},
		{"meta in comments", "-- \\! id\n/* \\! id /* nested */ \\! id */\nCREATE ROLE a;\n", 0, ""},
		{"unterminated string", "CREATE ROLE a;\nCOMMENT ON ROLE a IS 'x;\n\\! id\n", 2, "never ends"},
		{"unterminated dollar quote", "COMMENT ON ROLE a IS $$x;\n", 1, "never ends"},
		{"unterminated comment", "/* x\nCREATE ROLE a;\n", 1, "never ends"},
		{"dollar in a word", "CREATE ROLE a$x$;\n", 1, "$ inside a word"},
		{"parameter", "CREATE ROLE $1;\n", 1, "does not open a dollar-quoted"},
		{"variable", "CREATE ROLE :name;\n", 1, "colon"},
		{"NUL", "CREATE ROLE a\x00;\n", 1, "NUL"},
		{"DO", "CREATE ROLE a;\nDO $$BEGIN PERFORM 1; END$$;\n", 2, "a DO statement"},
		{"COPY program", "COPY (SELECT 1) TO PROGRAM 'id';\n", 1, "COPY"},
		{"SELECT", "SELECT pg_read_file('/etc/passwd');\n", 1, "SELECT"},
		{"function", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n", 1, "CREATE FUNCTION"},
		{"ALTER SYSTEM", "ALTER SYSTEM SET archive_command = 'id';\n", 1, "ALTER SYSTEM"},
		{"DROP ROLE", "DROP ROLE a;\n", 1, "DROP ROLE"},
		{"grant on a table", "GRANT ALL ON TABLE t TO a;\n", 1, "GRANT of something other"},
		{"grant on a tablespace", "GRANT CREATE ON TABLESPACE t TO a;\n", 0, ""},
		{"membership", "GRANT a TO b WITH ADMIN OPTION GRANTED BY postgres;\nREVOKE a FROM b;\n", 0, ""},
		{"security label on a table", "SECURITY LABEL ON TABLE t IS 'x';\n", 1, "SECURITY LABEL"},
		{"comment on a table", "COMMENT ON TABLE t IS 'x';\n", 1, "COMMENT ON"},
		{"standard strings off", "SET standard_conforming_strings = off;\n", 1, "standard_conforming_strings"},
		{"client-only encoding", "SET client_encoding = 'SJIS';\n", 1, "not a server encoding"},
		{"server encoding", "SET client_encoding = 'LATIN1';\nSET client_encoding TO 'utf-8';\n", 0, ""},
		{"SET role", "SET ROLE postgres;\n", 1, "SET of"},
		{"SET search_path", "SET search_path = evil;\n", 1, "search_path"},
		{"last statement without semicolon", "CREATE ROLE a;\nSELECT 1", 2, "SELECT"},
		{"empty", "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := checkGlobals([]byte(tc.in))
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if bytes.Contains(out, []byte(`\restrict`)) {
					t.Errorf("output keeps \\restrict: %q", out)
				}
				return
			}
			var ge *globalsError
			if !errors.As(err, &ge) {
				t.Fatalf("accepted (%q), want line %d refused", out, tc.line)
			}
			if ge.Line != tc.line || !strings.Contains(ge.Reason, tc.reason) {
				t.Errorf("line %d, %q; want line %d, %q", ge.Line, ge.Reason, tc.line, tc.reason)
			}
			if !strings.Contains(err.Error(), "globals.sql line") || !strings.Contains(err.Error(), "restore without --globals") {
				t.Errorf("error does not say where and what to do: %v", err)
			}
		})
	}
}

// FuzzCheckGlobals: no input panics, and what is accepted is accepted again unchanged
// (the \restrict lines are gone, nothing else changes).
func FuzzCheckGlobals(f *testing.F) {
	for _, name := range []string{"testdata/globals-pg15.sql", "testdata/globals-pg17.sql"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"\\! id\n", "COMMENT ON ROLE a IS E'x'\n'abc\\'' \\! id\n;", "CREATE ROLE \"a\";\n",
		"COMMENT ON ROLE a IS $q$\n\\! x\n$q$;", "/* /* */ */ SET client_encoding = 'UTF8';"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := checkGlobals(data)
		if err != nil {
			return
		}
		again, err := checkGlobals(out)
		if err != nil {
			t.Fatalf("accepted %q, then refused its output: %v", data, err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("output changed on a second check: %q -> %q", out, again)
		}
	})
}

// restrictLines are pg_dumpall's \restrict and \unrestrict lines.
var restrictLines = regexp.MustCompile(`(?m)^\\(un)?restrict .*\n`)

func TestKnowsRestrict(t *testing.T) {
	for v, want := range map[string]bool{
		"13.21": false, "13.22": true, "14.18": false, "14.19": true, "15.13": false, "15.14": true,
		"15.18": true, "16.9": false, "16.10": true, "17.5": false, "17.6": true, "18.0": true, "18beta1": true,
		"12.22": false, "9.6.24": false,
	} {
		if got := knowsRestrict(mustVersion(t, v)); got != want {
			t.Errorf("knowsRestrict(%s) = %v, want %v", v, got, want)
		}
	}
}
