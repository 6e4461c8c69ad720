package postgres

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DumpSchemaStep reads the Argo schema step from a custom-format dump itself, for a dump
// without a manifest to say it: pg_restore --data-only --table=schema_history prints just
// that table's COPY block, and the highest schema_version in it is the step. nil when
// the dump holds no schema_history table with an integer schema_version column, or an
// empty one. public.schema_history wins over one in another schema, as in the database.
// binDir "" searches PATH.
func DumpSchemaStep(ctx context.Context, dump io.Reader, binDir string) (*int, error) {
	tool, err := findTool(Options{BinDir: binDir}, "pg_restore", "")
	if err != nil {
		return nil, err
	}
	cmd := newCommand(ctx, tool, "--data-only", "--table=schema_history", "--file=-")
	out, stderr := &capped{max: 16 << 20}, newTail(64<<10)
	src := &readTracker{r: dump}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = src, out, stderr
	err = cmd.Run()
	switch {
	case src.failed() != nil:
		return nil, fmt.Errorf("reading the dump for its schema step: %w", src.failed())
	case out.over:
		return nil, fmt.Errorf("pg_restore printed more than %d MiB for table schema_history: that is not Argo's migration table; restore with --force if the dump is right", out.max>>20)
	case err != nil:
		return nil, fmt.Errorf("read the schema step from the dump: %w", toolError("pg_restore", err, stderr))
	}
	return copyMaxStep(out.buf), nil
}

// copyMaxStep finds the highest schema_version in the COPY blocks of pg_restore's SQL.
func copyMaxStep(sql []byte) *int {
	var best *int
	bestPublic := false
	sc := bufio.NewScanner(bytes.NewReader(sql))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		table, col, ok := copyHeader(sc.Text())
		if !ok {
			continue
		}
		var step *int
		valid := col >= 0
		for sc.Scan() && sc.Text() != `\.` {
			fields := strings.Split(sc.Text(), "\t")
			if !valid || col >= len(fields) || fields[col] == `\N` {
				continue
			}
			n, err := strconv.Atoi(fields[col])
			if err != nil {
				valid = false // not an integer column: not Argo's table
				continue
			}
			if step == nil || n > *step {
				step = &n
			}
		}
		if !valid || step == nil {
			continue
		}
		public := table == "public.schema_history"
		if best == nil || (public && !bestPublic) {
			best, bestPublic = step, public
		}
	}
	return best
}

// copyHeader reads `COPY schema.table (col, ...) FROM stdin;` and returns the table and
// the index of the schema_version column (-1 without one).
func copyHeader(line string) (table string, col int, ok bool) {
	rest, ok := strings.CutPrefix(line, "COPY ")
	if !ok || !strings.HasSuffix(rest, " FROM stdin;") {
		return "", 0, false
	}
	open := strings.IndexByte(rest, '(')
	end := strings.LastIndexByte(rest, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	table = strings.TrimSpace(rest[:open])
	col = -1
	for i, c := range strings.Split(rest[open+1:end], ",") {
		if strings.TrimSpace(c) == "schema_version" {
			col = i
		}
	}
	return table, col, true
}
