package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
)

// VerifyDump checks a custom-format dump with pg_restore alone, no server needed. Two
// pg_restore processes read the one stream: `--list` prints the table of contents, and
// a conversion to SQL (thrown away) reads every data block, because `--list` stops after
// the table of contents and would pass a truncated dump. binDir "" searches PATH.
func VerifyDump(ctx context.Context, dump io.Reader, binDir string) (string, error) {
	tool, err := findTool(Options{BinDir: binDir}, "pg_restore", "")
	if err != nil {
		return "", err
	}
	toc := &tocCounter{}
	list, listErr := newCommand(ctx, tool, "--list"), newTail(64<<10)
	list.Stdout, list.Stderr = toc, listErr
	var sql countWriter
	full, fullErr := newCommand(ctx, tool, "--file=-"), newTail(64<<10)
	full.Stdout, full.Stderr = &sql, fullErr
	listIn, err := startWithStdin(list)
	if err != nil {
		return "", err
	}
	fullIn, err := startWithStdin(full)
	if err != nil {
		listIn.Close()
		_ = list.Wait()
		return "", err
	}
	hdr := &header{r: dump}
	src := &readTracker{r: hdr}
	_, copyErr := io.Copy(io.MultiWriter(fullIn, &lenient{w: listIn}), src)
	listIn.Close()
	fullIn.Close()
	lerr, ferr := list.Wait(), full.Wait()
	if lerr != nil || ferr != nil {
		if err := tooNew(ctx, tool, hdr, listErr.String()+fullErr.String(), "the source's postgres"); err != nil {
			return "", err
		}
	}
	switch {
	case src.failed() != nil:
		return "", fmt.Errorf("reading the dump: %w", src.failed())
	case lerr != nil:
		return "", fmt.Errorf("the dump's table of contents is unreadable: %w", toolError("pg_restore --list", lerr, listErr))
	case ferr != nil:
		return "", fmt.Errorf("the dump is truncated or corrupt: %w", toolError("pg_restore", ferr, fullErr))
	case copyErr != nil:
		return "", fmt.Errorf("pg_restore stopped reading the dump early: %w", copyErr)
	}
	return fmt.Sprintf("pg_restore --list: %d TOC entries; every data block read (%d bytes of SQL)", toc.entries, sql), nil
}

func startWithStdin(cmd *exec.Cmd) (io.WriteCloser, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return in, nil
}

// lenient stops writing after the first error and pretends success: pg_restore --list
// exits once it has the table of contents, while the rest of the stream still has to
// reach the other reader.
type lenient struct {
	w    io.Writer
	dead bool
}

func (l *lenient) Write(p []byte) (int, error) {
	if !l.dead {
		if _, err := l.w.Write(p); err != nil {
			l.dead = true
		}
	}
	return len(p), nil
}

// tocCounter counts the entry lines of `pg_restore --list` (comment lines start with ';').
type tocCounter struct {
	entries  int
	midLine  bool
	skipLine bool
}

func (c *tocCounter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if !c.midLine {
			c.skipLine = p[0] == ';' || p[0] == '\n'
			if !c.skipLine {
				c.entries++
			}
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.midLine = true
			break
		}
		c.midLine = false
		p = p[i+1:]
	}
	return n, nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
