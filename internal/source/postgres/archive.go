package postgres

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
)

// archiveFirstRelease is the first pg_dump release writing each custom-format archive
// version (K_VERS_* in PostgreSQL's src/bin/pg_dump/pg_backup_archiver.h).
var archiveFirstRelease = map[[2]byte]string{{1, 14}: "12", {1, 15}: "16", {1, 16}: "17"}

// header keeps the first bytes of a dump as they stream past: "PGDMP", then the archive
// format's major, minor and revision.
type header struct {
	r   io.Reader
	mu  sync.Mutex
	buf []byte
}

func (h *header) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.mu.Lock()
	if missing := 8 - len(h.buf); missing > 0 {
		h.buf = append(h.buf, p[:min(n, missing)]...)
	}
	h.mu.Unlock()
	return n, err
}

// version is the archive format version, ok false when the header is not (yet) there.
func (h *header) version() (v [2]byte, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.buf) < 7 || string(h.buf[:5]) != "PGDMP" {
		return v, false
	}
	return [2]byte{h.buf[5], h.buf[6]}, true
}

// tooNew explains pg_restore's "unsupported version (1.16) in file header": the dump
// was written by a newer pg_dump than this pg_restore. nil for any other failure.
func tooNew(ctx context.Context, tool string, h *header, stderr, field string) error {
	v, ok := h.version()
	if !ok || !strings.Contains(stderr, "unsupported version") {
		return nil
	}
	writer, install := "a newer pg_dump", "a newer postgresql-client"
	if rel, known := archiveFirstRelease[v]; known {
		writer, install = "pg_dump "+rel+" or newer", "postgresql-client-"+rel+" (or newer)"
	}
	have := "pg_restore"
	if tv, err := toolVersion(ctx, tool); err == nil {
		have += " " + tv.Text
	}
	return fmt.Errorf("the dump is in archive format %d.%d, written by %s, which %s (%s) cannot read: install %s and point %s.binDir at its bin directory",
		v[0], v[1], writer, have, tool, install, field)
}
