package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxGlobals bounds globals.sql, which the pipeline holds in memory. Thousands of roles
// fit in a few megabytes.
const maxGlobals = 64 << 20

// dumpGlobals runs pg_dumpall --globals-only (roles, their memberships and settings,
// tablespaces). It connects to db, the database being backed up, which the configured
// user can certainly reach, rather than to the "postgres" maintenance database.
func dumpGlobals(ctx context.Context, srv *server, tool, db string) ([]byte, error) {
	cmd := srv.command(ctx, tool, "", "--globals-only", "--no-password", "--database="+db)
	out := &capped{max: maxGlobals}
	stderr := newTail(64 << 10)
	cmd.Stdout, cmd.Stderr = out, stderr
	err := cmd.Run()
	if out.over {
		return nil, fmt.Errorf("pg_dumpall --globals-only printed more than %d MiB: that is not a roles dump; check %s.binDir", maxGlobals>>20, srv.opts.field())
	}
	if err != nil {
		err = toolError("pg_dumpall --globals-only", err, stderr)
		if strings.Contains(stderr.String(), "permission denied") {
			err = fmt.Errorf("%w; dumping globals needs a superuser (pg_dumpall reads pg_authid): connect as one or turn %s.globals off", err, srv.opts.field())
		}
		return nil, err
	}
	return out.buf, nil
}

// readGlobals reads globals.sql (at most maxGlobals) and checks it (checkGlobals): what it
// returns is what psql may run. A restore reads it before it changes anything.
func readGlobals(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxGlobals+1))
	if err != nil {
		return nil, fmt.Errorf("read globals.sql: %w", err)
	}
	if len(data) > maxGlobals {
		return nil, fmt.Errorf("globals.sql is larger than %d MiB, which no roles dump is; nothing was restored: restore without --globals", maxGlobals>>20)
	}
	return checkGlobals(data)
}

// applyGlobals runs globals.sql, checked by readGlobals, through psql without stopping at
// errors: the target usually has some of the roles already (at least the one lifeboat
// connects as), and "already exists" is then expected. Every other error is reported
// after the whole file ran. The ALTER ROLE statements do run, so existing roles get the
// dumped attributes and password hashes back.
//
// psql starts with standard_conforming_strings on and client encoding UTF8 (PGOPTIONS,
// PGCLIENTENCODING), the reading checkGlobals assumed, whatever the server or the role
// has configured. A psql that knows \restrict (17.6, 16.10, 15.14, 14.19, 13.22 and
// later) also gets one with a key of lifeboat's first, so that even a meta-command
// checkGlobals missed would not run.
func applyGlobals(ctx context.Context, srv *server, tool, db string, globals []byte) error {
	cmd := srv.command(ctx, tool, db, "--no-password", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=0", "--file=-")
	cmd.Env = append(cmd.Env, "PGOPTIONS=-c standard_conforming_strings=on", "PGCLIENTENCODING=UTF8")
	var script bytes.Buffer
	if v, err := toolVersion(ctx, tool); err == nil && knowsRestrict(v) {
		key, err := restrictKey()
		if err != nil {
			return err
		}
		fmt.Fprintf(&script, "\\restrict %s\n", key)
	}
	script.Write(globals)
	stderr := newTail(1 << 20)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &script, io.Discard, stderr
	if err := cmd.Run(); err != nil {
		return toolError("psql (applying globals.sql)", err, stderr)
	}
	if bad := unexpectedErrors(stderr.String()); len(bad) > 0 {
		return errors.New("applying globals.sql failed: " + strings.Join(bad, "; "))
	}
	return nil
}

// knowsRestrict reports whether psql of version v has \restrict (CVE-2025-8714): 18 and
// later, and the minor releases of August 2025.
func knowsRestrict(v Version) bool {
	first := map[int]int{13: 22, 14: 19, 15: 14, 16: 10, 17: 6}
	major := v.Num / 10000
	if major >= 18 {
		return true
	}
	minor, ok := first[major]
	return ok && v.Num%10000 >= minor
}

// restrictKey is a random \restrict key: psql leaves restricted mode only on a
// \unrestrict with the same key, which nothing in the file can know.
func restrictKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("restrict key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// unexpectedErrors are psql's ERROR lines other than "already exists", at most ten.
func unexpectedErrors(stderr string) []string {
	var bad []string
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.Contains(line, "ERROR:") || strings.Contains(line, "already exists") {
			continue
		}
		if len(bad) == 10 {
			bad = append(bad, "(more errors not shown)")
			break
		}
		bad = append(bad, strings.TrimSpace(line))
	}
	return bad
}
