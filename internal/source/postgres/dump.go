package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// errClosed is what a read returns once the body was closed: a killed pg_dump ends its
// output like a finished one, and that must never pass for a complete dump.
var errClosed = errors.New("the pg_dump stream was closed before it ended")

// dump is a running pg_dump whose stdout is the artifact body. It owns the connection
// and transaction that exported the snapshot: the snapshot lives only as long as that
// transaction, and Finish reads the manifest's counts in it.
type dump struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr *tail
	conn   *pgx.Conn
	tx     pgx.Tx
	user   string // the role pg_dump connects as, for the advice on a refused read

	closed    atomic.Bool
	waitOnce  sync.Once
	waitErr   error
	endOnce   sync.Once
	closeOnce sync.Once
}

// startDump starts pg_dump in the exported snapshot. The custom format's own compression
// is off (--compress=0): lifeboat zstd-compresses the whole stream, which is faster and
// smaller than zlib per table, and compressing twice only burns CPU. `zstd -d | pg_restore`
// still restores it without lifeboat.
func startDump(ctx context.Context, srv *server, tool, snapshot string, conn *pgx.Conn, tx pgx.Tx) (*dump, error) {
	cmd := srv.command(ctx, tool, "", "--format=custom", "--compress=0", "--no-password", "--snapshot="+snapshot)
	d := &dump{cmd: cmd, stderr: newTail(64 << 10), conn: conn, tx: tx, user: conn.Config().User}
	cmd.Stderr = d.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("pg_dump stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", tool, err)
	}
	d.out = out
	return d, nil
}

func (d *dump) Read(p []byte) (int, error) {
	n, err := d.out.Read(p)
	if err != nil && d.closed.Load() {
		return n, errClosed
	}
	return n, err
}

// wait reaps pg_dump (once) and reports a failure with the tail of its stderr. It must
// only be called after the output was read to the end, or after a kill.
func (d *dump) wait() error {
	d.waitOnce.Do(func() {
		if err := d.cmd.Wait(); err != nil {
			d.waitErr = dumpFailed(toolError("pg_dump", err, d.stderr), d.stderr.String(), d.user)
		}
	})
	return d.waitErr
}

// dumpFailed adds the fix to a pg_dump failure that a grant fixes: large objects are
// not covered by pg_read_all_data (nor by grants on tables) on PostgreSQL 13 to 17, so a
// role that dumps the tables fine is refused on the first large object.
func dumpFailed(err error, stderr, user string) error {
	if !strings.Contains(stderr, "permission denied for large object") {
		return err
	}
	role := pgx.Identifier{user}.Sanitize()
	return fmt.Errorf("%w; role %s may not read the database's large objects (pg_read_all_data does not cover them): "+
		"have their owner run GRANT SELECT ON LARGE OBJECT <oid> TO %s for each one, and again for new ones "+
		"(docs/workflows-backup-restore.md has a loop over pg_largeobject_metadata), or back up as their owner", err, role, role)
}

// endTx releases the snapshot and the connection. Read-only, so rollback is as good as
// commit; it gets its own deadline because the run's context may already be cancelled.
func (d *dump) endTx() {
	d.endOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.tx.Rollback(ctx)
		_ = d.conn.Close(ctx)
	})
}

// Close kills pg_dump if it still runs, reaps it and ends the transaction. The pipeline
// closes the body on every path, also while a read is pending (stall detection), so
// Close may run concurrently with Read and more than once.
func (d *dump) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		_ = d.cmd.Process.Kill() // a no-op error once it has exited
		_ = d.wait()
		d.endTx()
	})
	return nil
}
