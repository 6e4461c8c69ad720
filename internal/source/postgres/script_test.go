package postgres

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// preamble17 is the start of `pg_restore --clean --if-exists --single-transaction
// --file=-` as pg_restore 17.6 writes it (_doSetFixedOutputState): the SET of
// transaction_timeout is the one line a server before 17 rejects.
const preamble17 = `--
-- PostgreSQL database dump
--

\restrict Qm9vYmFy0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 17.6 (Debian 17.6-0+deb13u1)

BEGIN;

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

`

// body17 follows the preamble: drops (--clean), entries, data, the trailer. The string
// `SET transaction_timeout = 0;` appears as a whole line in a function body and as a
// COPY data row: neither may be touched.
const body17 = `DROP TABLE IF EXISTS public.notes;
DROP FUNCTION IF EXISTS public.tt();
--
-- Name: tt(); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.tt() RETURNS text
    LANGUAGE sql
    AS $$ SELECT '
SET transaction_timeout = 0;
'::text $$;


ALTER FUNCTION public.tt() OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: notes; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.notes (
    line text
);


ALTER TABLE public.notes OWNER TO postgres;

--
-- Data for Name: notes; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.notes (line) FROM stdin;
SET transaction_timeout = 0;
\.


COMMIT;

--
-- PostgreSQL database dump complete
--

\unrestrict Qm9vYmFy0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV

`

const dropLine = "SET transaction_timeout = 0;\n"

func TestPreambleFilter(t *testing.T) {
	v := func(s string) Version { return mustVersion(t, s) }
	script := preamble17 + body17
	without := strings.Replace(script, dropLine, "", 1)
	// No DROPs (nothing to clean): the preamble ends at the first entry's SET lines and
	// header; a SET after that is an entry's, never touched.
	noClean := preamble17 + "SET default_tablespace = '';\n\n--\n-- Name: x; Type: TABLE; Schema: public; Owner: postgres\n--\n\n" +
		dropLine + "CREATE TABLE public.x (a int);\n"
	long := "SET application_name = '" + strings.Repeat("x", maxPreambleLine) + "';\n"
	for _, tc := range []struct {
		name, in, server, want string
		dropped                []string
	}{
		{"server 15: dropped from the preamble only", script, "15.18", without, []string{"SET transaction_timeout = 0;"}},
		{"server 13", script, "13.22", without, []string{"SET transaction_timeout = 0;"}},
		{"server 16", script, "16.10", without, []string{"SET transaction_timeout = 0;"}},
		{"server 17 has it: kept", script, "17.6", script, nil},
		{"server 18 has it: kept", script, "18.0", script, nil},
		{"after the preamble: kept", strings.Replace(script, dropLine, "", 1), "15.18", without, nil},
		{"no drops: the entry's SET lines end nothing, later ones are kept", noClean, "15.18", strings.Replace(noClean, dropLine, "", 1), []string{"SET transaction_timeout = 0;"}},
		{"first statement ends the preamble", "--\n\nCREATE TABLE t (a int);\n" + dropLine, "15.18", "--\n\nCREATE TABLE t (a int);\n" + dropLine, nil},
		{"a TOC header ends the preamble", "--\n-- Name: t; Type: TABLE\n--\n" + dropLine, "15.18", "--\n-- Name: t; Type: TABLE\n--\n" + dropLine, nil},
		{"SET ... TO", "SET transaction_timeout TO 0;\nSELECT 1;\n", "15.18", "SELECT 1;\n", []string{"SET transaction_timeout TO 0;"}},
		{"a SET spanning lines is not one of ours", "SET transaction_timeout =\n0;\n", "15.18", "SET transaction_timeout =\n0;\n", nil},
		{"no newline at the end", "BEGIN;\n" + strings.TrimSuffix(dropLine, "\n"), "15.18", "BEGIN;\n", []string{"SET transaction_timeout = 0;"}},
		{"unterminated last line kept", "BEGIN;\nSET lock_timeout = 0", "15.18", "BEGIN;\nSET lock_timeout = 0", nil},
		{"CRLF", "BEGIN;\r\nSET transaction_timeout = 0;\r\nSET lock_timeout = 0;\r\n", "15.18", "BEGIN;\r\nSET lock_timeout = 0;\r\n", []string{"SET transaction_timeout = 0;"}},
		{"an over-long line ends the preamble", long + dropLine, "15.18", long + dropLine, nil},
		{"empty", "", "15.18", "", nil},
	} {
		for _, chunk := range []int{0, 1, 7, 4096} { // 0: one write
			var out bytes.Buffer
			f := newPreambleFilter(&out, v(tc.server))
			var r io.Reader = strings.NewReader(tc.in)
			if chunk > 0 {
				r = &chunked{r: r, n: chunk}
			}
			if _, err := io.Copy(onlyWriter{f}, r); err != nil {
				t.Fatalf("%s/%d: copy: %v", tc.name, chunk, err)
			}
			if err := f.Flush(); err != nil {
				t.Fatalf("%s/%d: flush: %v", tc.name, chunk, err)
			}
			if out.String() != tc.want {
				t.Errorf("%s (writes of %d bytes):\n got %q\nwant %q", tc.name, chunk, shorten(out.String()), shorten(tc.want))
			}
			if !reflect.DeepEqual(f.dropped, tc.dropped) {
				t.Errorf("%s (writes of %d bytes): dropped %q, want %q", tc.name, chunk, f.dropped, tc.dropped)
			}
		}
	}
	// The \restrict and \unrestrict lines reach psql unchanged.
	var out bytes.Buffer
	f := newPreambleFilter(&out, v("15.18"))
	if _, err := io.Copy(onlyWriter{f}, iotest.OneByteReader(strings.NewReader(script))); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`\restrict Qm9vYmFy`, `\unrestrict Qm9vYmFy`} {
		if !strings.Contains(out.String(), "\n"+line) {
			t.Errorf("%q missing from the filtered script", line)
		}
	}
}

// The filter streams: once past the preamble every write goes straight through, and it
// never holds more than one preamble line.
func TestPreambleFilterStreams(t *testing.T) {
	var out bytes.Buffer
	f := newPreambleFilter(&out, Version{Text: "15.18", Num: 150018})
	if _, err := f.Write([]byte(preamble17)); err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(preamble17, dropLine, "", 1); out.String() != want {
		t.Fatalf("preamble written so far %q, want %q", out.String(), want)
	}
	if _, err := f.Write([]byte("DROP TABLE IF EXISTS public.notes;\nCOPY public.notes (line) FROM stdin;\n")); err != nil {
		t.Fatal(err)
	}
	if !f.done {
		t.Fatal("the first DROP did not end the preamble")
	}
	row := []byte(strings.Repeat("SET transaction_timeout = 0;\tpadding\n", 1000))
	for i := range 256 { // ~9 MiB
		before := out.Len()
		if _, err := f.Write(row); err != nil {
			t.Fatal(err)
		}
		if out.Len()-before != len(row) {
			t.Fatalf("write %d: %d of %d bytes passed through", i, out.Len()-before, len(row))
		}
	}
	if cap(f.line) > maxPreambleLine {
		t.Errorf("the filter holds a %d-byte buffer", cap(f.line))
	}
	// A preamble line split over writes is held only until its newline.
	out.Reset()
	f = newPreambleFilter(&out, Version{Text: "15.18", Num: 150018})
	_, _ = f.Write([]byte("SET lock_tim"))
	if out.Len() != 0 {
		t.Errorf("half a preamble line was written: %q", out.String())
	}
	_, _ = f.Write([]byte("eout = 0;\nSET transac"))
	if out.String() != "SET lock_timeout = 0;\n" {
		t.Errorf("after the newline: %q", out.String())
	}
}

// A failing writer (psql gone) stops the filter with its error.
func TestPreambleFilterWriteError(t *testing.T) {
	f := newPreambleFilter(errWriter{}, Version{Text: "15.18", Num: 150018})
	if _, err := f.Write([]byte("BEGIN;\n")); err == nil {
		t.Error("a preamble line written to a failing writer: no error")
	}
	f = newPreambleFilter(errWriter{}, Version{Text: "15.18", Num: 150018})
	f.done = true
	if _, err := f.Write([]byte("CREATE TABLE t ();\n")); err == nil {
		t.Error("a write after the preamble to a failing writer: no error")
	}
}

func TestUseScript(t *testing.T) {
	v := func(s string) Version { return mustVersion(t, s) }
	for _, tc := range []struct {
		client, server string
		script         bool
	}{
		{"17.6", "15.18", true},
		{"17.6", "16.10", true},
		{"17.6", "13.22", true},
		{"16.10", "15.18", true},
		{"17.6", "17.0", false}, // minor releases do not matter
		{"17.0", "17.6", false},
		{"15.18", "15.18", false},
		{"15.18", "17.6", false}, // an older pg_restore: the direct mode, as before
		{"18beta1", "17.6", true},
	} {
		if got := useScript(v(tc.client), v(tc.server)); got != tc.script {
			t.Errorf("pg_restore %s into server %s: script mode %v, want %v", tc.client, tc.server, got, tc.script)
		}
	}
	if useScript(Version{}, v("15.18")) || useScript(v("17.6"), Version{}) {
		t.Error("an unknown version chose script mode")
	}
}

// chunked reads at most n bytes at a time.
type chunked struct {
	r io.Reader
	n int
}

func (c *chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// onlyWriter hides any ReadFrom, so io.Copy calls Write with the reader's chunks.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// shorten keeps a failure message readable.
func shorten(s string) string {
	if len(s) > 300 {
		return s[:150] + " ... " + s[len(s)-150:]
	}
	return s
}

// runScript's filter refuses a script without \restrict before anything past its
// preamble reaches psql: psql would otherwise obey a crafted dump's meta-commands.
func TestPreambleFilterRequiresRestrict(t *testing.T) {
	unrestricted := strings.Replace(preamble17+body17, "\\restrict Qm9vYmFy0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV\n", "", 1)
	for _, tc := range []struct {
		name, in string
		refused  bool
	}{
		{"pg_restore's script", preamble17 + body17, false},
		{"without \\restrict", unrestricted, true},
		{"a meta-command first", "--\n\\! touch /tmp/x\n", true},
		{"only a preamble", "--\nSET lock_timeout = 0;\n", true},
		{"an over-long line first", "SET application_name = '" + strings.Repeat("x", maxPreambleLine) + "';\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			f := newPreambleFilter(&out, mustVersion(t, "15.18"))
			f.requireRestrict = true
			_, err := io.Copy(onlyWriter{f}, iotest.OneByteReader(strings.NewReader(tc.in)))
			if err == nil {
				err = f.Flush()
			}
			if !tc.refused {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, errUnrestricted) {
				t.Fatalf("err = %v, want errUnrestricted", err)
			}
			if strings.Contains(out.String(), `\!`) || strings.Contains(out.String(), "CREATE") || strings.Contains(out.String(), "xxxx") {
				t.Errorf("psql got more than the preamble: %q", shorten(out.String()))
			}
		})
	}
}
