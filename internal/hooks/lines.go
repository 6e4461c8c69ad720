package hooks

import (
	"bytes"
	"log/slog"
	"strings"
)

// maxLine splits a line that never ends, so a command printing without newlines cannot
// grow lifeboat's memory.
const maxLine = 8 << 10

// lineLog is an io.Writer that logs each line written to it. exec.Cmd copies each
// stream from its own goroutine, so a lineLog serves one stream only.
type lineLog struct {
	logger          *slog.Logger
	command, stream string
	buf             []byte
	last            string // the last non-empty line, for the error message
}

func (l *lineLog) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.buf = append(l.buf, p...)
			if len(l.buf) >= maxLine {
				l.emit()
			}
			break
		}
		l.buf = append(l.buf, p[:i]...)
		l.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineLog) flush() {
	if len(l.buf) > 0 {
		l.emit()
	}
}

func (l *lineLog) emit() {
	line := strings.TrimRight(string(l.buf), "\r")
	l.buf = l.buf[:0]
	if strings.TrimSpace(line) != "" {
		l.last = line
		if len(l.last) > 500 {
			l.last = l.last[:500] + "…"
		}
	}
	l.logger.Info("hook output", "command", l.command, "stream", l.stream, "line", line)
}
