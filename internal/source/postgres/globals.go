package postgres

import (
	"context"
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

// applyGlobals runs globals.sql through psql without stopping at errors: the target
// usually has some of the roles already (at least the one lifeboat connects as), and
// "already exists" is then expected. Every other error is reported after the whole file
// ran. The ALTER ROLE statements do run, so existing roles get the dumped attributes and
// password hashes back.
func applyGlobals(ctx context.Context, srv *server, tool, db string, globals io.Reader) error {
	cmd := srv.command(ctx, tool, db, "--no-password", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=0", "--file=-")
	stderr := newTail(1 << 20)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = globals, io.Discard, stderr
	if err := cmd.Run(); err != nil {
		return toolError("psql (applying globals.sql)", err, stderr)
	}
	if bad := unexpectedErrors(stderr.String()); len(bad) > 0 {
		return errors.New("applying globals.sql failed: " + strings.Join(bad, "; "))
	}
	return nil
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
