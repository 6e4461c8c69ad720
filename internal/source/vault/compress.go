package vault

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// gzipHeaderPeek is how much of the snapshot stream is looked at to decide "auto": the
// gzip header (10 bytes plus optional name, comment and extra field) and the first
// deflate block header. A header longer than this is treated as compressed.
const gzipHeaderPeek = 4 << 10

// StoresUncompressed reports whether a gzip stream's first deflate block is a stored
// (uncompressed) block, as OpenBao (since 2.4) writes its raft snapshots: the gzip is a
// container there, and zstd shrinks the archive. It reports false for anything it cannot
// parse: then the snapshot is kept as the server sent it, and InspectSnapshot says what
// is wrong with it.
func StoresUncompressed(head []byte) bool {
	const (
		fhcrc    = 1 << 1
		fextra   = 1 << 2
		fname    = 1 << 3
		fcomment = 1 << 4
	)
	if len(head) < 11 || head[0] != 0x1f || head[1] != 0x8b || head[2] != 8 {
		return false
	}
	flags, p := head[3], 10
	if flags&fextra != 0 {
		if p+2 > len(head) {
			return false
		}
		p += 2 + (int(head[p]) | int(head[p+1])<<8)
	}
	for _, f := range []byte{fname, fcomment} {
		if flags&f == 0 {
			continue
		}
		for p < len(head) && head[p] != 0 {
			p++
		}
		p++ // the terminating zero
	}
	if flags&fhcrc != 0 {
		p += 2
	}
	if p >= len(head) {
		return false
	}
	// A deflate block starts with BFINAL (1 bit) and BTYPE (2 bits), least significant
	// bits first; BTYPE 00 is a stored block.
	return (head[p]>>1)&3 == 0
}

// compressDecision decides whether the pipeline compresses the snapshot stream; for auto
// it peeks at the stream's start. The returned reader still yields the whole stream. The
// peek happens before the pipeline's stall guard watches the stream, so it has its own:
// a leader that sends nothing for stall closes body and fails the backup.
func compressDecision(mode string, body io.ReadCloser, stall time.Duration) (io.Reader, bool, error) {
	switch mode {
	case config.VaultCompressionZstd:
		return body, true, nil
	case config.VaultCompressionNone:
		return body, false, nil
	}
	timer := time.AfterFunc(stall, func() { body.Close() })
	br := bufio.NewReaderSize(body, gzipHeaderPeek)
	head, err := br.Peek(gzipHeaderPeek)
	if !timer.Stop() {
		return nil, false, fmt.Errorf("the raft leader sent no snapshot data for %s (the source's stallTimeout)", stall)
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, false, fmt.Errorf("reading the snapshot stream: %w", err)
	}
	// A stream shorter than the peek is InspectSnapshot's to judge.
	return br, StoresUncompressed(head), nil
}
