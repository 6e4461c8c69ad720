package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
)

// A pg_restore newer than the server cannot restore into it directly: pg_restore 17 and
// later open every restore with a fixed preamble (_doSetFixedOutputState in
// src/bin/pg_dump/pg_backup_archiver.c) that sets transaction_timeout, a parameter
// servers before 17 do not have, and the server refuses the whole restore with
// `unrecognized configuration parameter "transaction_timeout"`. In that case lifeboat
// restores in script mode: `pg_restore --file=-` writes the restore as SQL, lifeboat
// leaves the preamble's SET lines for such parameters out, and psql, from the same client
// installation, runs the rest. Every other line reaches psql as pg_restore wrote it.

// preambleParams are the run-time parameters pg_restore's fixed preamble may set, with
// the first server major release that has them. A SET of one of them is left out of the
// preamble for an older server. Parameters older than every supported server (13) are
// not listed.
var preambleParams = map[string]int{
	"transaction_timeout": 17, // pg_restore 17 sets it to 0 (no timeout)
}

// useScript reports whether a restore by pg_restore of version client into a server of
// version server goes through script mode: when pg_restore's major release is newer than
// the server's. Unknown versions (zero) keep the direct mode.
func useScript(client, server Version) bool {
	if client.Num == 0 || server.Num == 0 {
		return false
	}
	return server.olderMajor(client)
}

// maxPreambleLine bounds the part of a preamble line the filter holds while it decides
// about the line. pg_restore's preamble lines are far shorter; a longer line is not
// preamble, so the filter stops there and copies it through.
const maxPreambleLine = 4 << 10

// preambleFilter copies pg_restore's script to w, leaving out of its preamble the SET
// lines for parameters the server lacks (see preambleParams). It streams: it holds at
// most one unfinished preamble line, and after the preamble it passes every write through
// unchanged.
//
// The preamble is the run of lines at the start of the script that are each one of:
//
//   - blank;
//   - a comment ("--") other than a TOC entry's header ("-- Name: ", "-- Data for Name: ",
//     "-- TOC entry ");
//   - psql's `\restrict <key>` (pg_restore 17.6, 16.10, 15.14, 14.19, 13.22 and later);
//   - "BEGIN;" (pg_restore --single-transaction);
//   - a one-line SET ...; or SELECT pg_catalog.set_config(...); statement.
//
// The first line of any other kind (with --clean the first DROP, else a TOC entry's header
// or statement) ends the preamble, and from there on nothing is changed: a COPY data row,
// a function body or a string that happens to read `SET transaction_timeout = 0;` comes
// after the first statement, so it is never touched. Only whole lines of the exact form
// `SET <param> = <value>;` or `SET <param> TO <value>;` for a listed param are left out.
//
// With requireRestrict (runScript), a preamble without psql's `\restrict <key>` is refused
// before anything past it reaches psql: without it psql obeys the meta-commands (`\!`
// runs a shell command) that a crafted dump's objects can carry into pg_restore's script
// (CVE-2025-8714). pg_restore writes it from 17.6, 16.10, 15.14, 14.19 and 13.22 on.
type preambleFilter struct {
	w               io.Writer
	server          Version
	requireRestrict bool
	restricted      bool     // a \restrict line passed
	done            bool     // past the preamble: copy everything
	line            []byte   // the preamble line being collected, up to its newline
	dropped         []string // the lines left out, for the log
}

// errUnrestricted is a pg_restore script without \restrict.
var errUnrestricted = errors.New("pg_restore's script does not begin with psql's \\restrict, so psql would run meta-commands (such as \\! shell commands) a crafted dump can carry; nothing was restored: use a PostgreSQL client of 17.6, 16.10, 15.14, 14.19, 13.22 or later (binDir)")

func newPreambleFilter(w io.Writer, server Version) *preambleFilter {
	return &preambleFilter{w: w, server: server}
}

func (f *preambleFilter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !f.done {
		i := bytes.IndexByte(p, '\n')
		end := i + 1
		if i < 0 {
			end = len(p)
		}
		if len(f.line)+end > maxPreambleLine {
			// Too long for the preamble: it ends here, and the line goes out as it is.
			if f.requireRestrict && !f.restricted {
				return n - len(p), errUnrestricted
			}
			f.done = true
			if err := f.flushLine(); err != nil {
				return n - len(p), err
			}
			break
		}
		f.line = append(f.line, p[:end]...)
		p = p[end:]
		if i >= 0 {
			if err := f.endLine(); err != nil {
				return n - len(p), err
			}
		}
	}
	if len(p) > 0 {
		if _, err := f.w.Write(p); err != nil {
			return n - len(p), err
		}
	}
	return n, nil
}

// Flush decides about a last preamble line without a newline (a script that ends in its
// preamble). Call it once the script is complete.
func (f *preambleFilter) Flush() error {
	if len(f.line) == 0 {
		if f.requireRestrict && !f.restricted && !f.done {
			return errUnrestricted
		}
		return nil
	}
	return f.endLine()
}

// endLine decides about the complete line in f.line.
func (f *preambleFilter) endLine() error {
	line := bytes.TrimRight(f.line, "\r\n")
	switch {
	case f.unsupportedSet(line):
		f.dropped = append(f.dropped, string(line))
		f.line = f.line[:0]
		return nil
	case !isPreambleLine(line):
		if f.requireRestrict && !f.restricted {
			return errUnrestricted
		}
		f.done = true
	case bytes.HasPrefix(line, []byte(`\restrict `)):
		f.restricted = true
	}
	return f.flushLine()
}

func (f *preambleFilter) flushLine() error {
	_, err := f.w.Write(f.line)
	f.line = f.line[:0]
	if f.done {
		f.line = nil
	}
	return err
}

var (
	// setLineRE is a one-line SET as pg_restore writes it: `SET name = value;`.
	setLineRE = regexp.MustCompile(`^SET ([a-z_][a-z0-9_]*)(?: = | TO )[^;]*;$`)
	// tocHeaders start the comment block above every TOC entry of pg_restore's script.
	tocHeaders = [][]byte{[]byte("-- Name: "), []byte("-- Data for Name: "), []byte("-- TOC entry ")}
)

// isPreambleLine reports whether line (without its newline) may be part of the preamble.
func isPreambleLine(line []byte) bool {
	switch {
	case len(bytes.TrimSpace(line)) == 0:
		return true
	case bytes.HasPrefix(line, []byte("--")):
		for _, h := range tocHeaders {
			if bytes.HasPrefix(line, h) {
				return false
			}
		}
		return true
	case bytes.HasPrefix(line, []byte(`\restrict `)), string(line) == "BEGIN;":
		return true
	case bytes.HasPrefix(line, []byte("SET ")), bytes.HasPrefix(line, []byte("SELECT pg_catalog.set_config(")):
		return bytes.HasSuffix(line, []byte(";"))
	}
	return false
}

// unsupportedSet reports whether line is a SET of a parameter the server does not have.
func (f *preambleFilter) unsupportedSet(line []byte) bool {
	m := setLineRE.FindSubmatch(line)
	if m == nil {
		return false
	}
	first, listed := preambleParams[string(m[1])]
	return listed && f.server.Num < first*10000
}

// runScript restores in script mode: pg_restore --file=- writes the restore as SQL
// (without connecting), preambleFilter takes out what the server does not know, and
// psql runs it. The guarantees are the direct mode's:
//
//   - One transaction: pg_restore --single-transaction wraps the script in BEGIN; ...
//     COMMIT; (psql's own --single-transaction would not do: in a script without it,
//     pg_restore commits large objects in blocks of their own, and psql -1 commits
//     whatever it read when its input ends, even a script cut short). psql stops at the
//     first error (ON_ERROR_STOP) and the server rolls the transaction back when psql
//     disconnects.
//   - psql's input is closed only when pg_restore succeeded, that is wrote the whole
//     script; otherwise psql is killed before it could see the end of its input, so a
//     script cut short is never committed.
//   - Errors name the failing statement (psql --echo-errors) and what stays behind.
//   - Both programs run in their own process groups and end with ctx (newCommand).
//
// psql connects as pg_restore does in the direct mode (srv.command: the connection
// keywords as --dbname, the password only in PGPASSWORD).
func runScript(ctx context.Context, srv *server, pgRestore, psql string, server Version, dump io.Reader, noOwner bool, done changes, log *slog.Logger) error {
	psqlCtx, killPsql := context.WithCancel(ctx)
	defer killPsql()
	run := srv.command(psqlCtx, psql, "", "--no-psqlrc", "--quiet", "--no-password",
		"--set=ON_ERROR_STOP=1", "--echo-errors", "--file=-")
	psqlErr := newTail(64 << 10)
	run.Stdout, run.Stderr = io.Discard, psqlErr
	psqlIn, err := run.StdinPipe()
	if err != nil {
		return fmt.Errorf("psql: %w", err)
	}
	if err := run.Start(); err != nil {
		return fmt.Errorf("start %s: %w", psql, err)
	}
	// stop ends psql without letting it see the end of its input.
	stop := func() {
		killPsql()
		psqlIn.Close()
		_ = run.Wait()
	}

	args := []string{"--format=custom", "--clean", "--if-exists", "--single-transaction", "--file=-"}
	if noOwner {
		args = append(args, "--no-owner")
	}
	restoreCtx, killRestore := context.WithCancel(ctx)
	defer killRestore()
	script := newCommand(restoreCtx, pgRestore, args...)
	restoreErr := newTail(64 << 10)
	hdr := &header{r: dump}
	// A read error of the dump kills pg_restore (and so psql, below) at once.
	src := &readTracker{r: hdr, onErr: killRestore}
	script.Stdin, script.Stderr = src, restoreErr
	// Read here, not by os/exec's copying goroutine: psql may still be busy with the last
	// statements (an index build) long after pg_restore exited, longer than WaitDelay.
	out, err := script.StdoutPipe()
	if err != nil {
		stop()
		return fmt.Errorf("pg_restore: %w", err)
	}
	if err := script.Start(); err != nil {
		stop()
		return fmt.Errorf("start %s: %w", pgRestore, err)
	}
	filter := newPreambleFilter(psqlIn, server)
	filter.requireRestrict = true
	_, ferr := io.Copy(filter, out)
	if ferr != nil {
		killRestore() // psql is gone: pg_restore would block on a full pipe
	}
	rerr := script.Wait()
	if rerr == nil && ferr == nil {
		ferr = filter.Flush()
	}
	readErr := src.failed()
	// A read error after pg_restore succeeded (the dump's end): the script is complete,
	// so psql finishes it, as pg_restore itself would have in the direct mode.
	if rerr != nil || ferr != nil {
		killPsql()
	}
	psqlIn.Close()
	perr := run.Wait()
	if len(filter.dropped) > 0 {
		log.Info("left out of pg_restore's preamble: settings the server does not have", "server", server.Text, "lines", filter.dropped)
	}

	rolledBack := "rolled back: pg_restore runs in one transaction, so " + done.String()
	if rerr == nil && ferr == nil && perr == nil {
		if readErr != nil {
			return fmt.Errorf("pg_restore finished but reading the backup failed at its end: %w; check the restored database", readErr)
		}
		return nil
	}
	// psql failed by itself (an exit status, not the kill above): the root cause; a
	// pg_restore failing then only lost its reader.
	psqlFailed := perr != nil && run.ProcessState != nil && run.ProcessState.Exited()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("restore interrupted: %w (%s)", ctx.Err(), rolledBack)
	case readErr != nil:
		return fmt.Errorf("reading the backup for pg_restore: %w (%s)", readErr, rolledBack)
	case psqlFailed:
		err = fmt.Errorf("%w (%s)", toolError("psql (running pg_restore's script)", perr, psqlErr), rolledBack)
		if !noOwner && missingRoleRE.MatchString(psqlErr.String()) {
			err = fmt.Errorf("%w; the target lacks roles the dump's objects belong to: restore with --globals (the backup's roles) or --no-owner", err)
		}
		return err
	case rerr != nil:
		if newer := tooNew(ctx, pgRestore, hdr, restoreErr.String(), srv.opts.field()); newer != nil {
			return fmt.Errorf("%w (%s)", newer, done)
		}
		return fmt.Errorf("%w (%s)", toolError("pg_restore", rerr, restoreErr), rolledBack)
	case ferr != nil:
		return fmt.Errorf("passing pg_restore's script to psql: %w (%s)", ferr, rolledBack)
	}
	// psql ended by a signal lifeboat did not send.
	return fmt.Errorf("%w (%s)", toolError("psql (running pg_restore's script)", perr, psqlErr), rolledBack)
}
