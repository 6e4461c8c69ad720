package pipeline

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/ring"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// errInspectorStopped marks an Inspect func that returned before the end of the stream.
var errInspectorStopped = errors.New("the artifact check stopped reading before the end of the stream")

// Run takes one backup of src into every destination. It never returns without a Result;
// check Result.Status. Nothing is committed anywhere unless the whole stream was read, the
// source's own checks passed and its late status (Finish) is good.
func (p *Pipeline) Run(ctx context.Context, src source.Source, dests []Destination) *Result {
	started := p.now()
	id := p.BackupID
	if id == "" {
		id = catalog.NewBackupID(src.Name(), started)
	}
	res := &Result{Source: src.Name(), ID: id, Started: started}
	log := p.logger().With("source", src.Name(), "backup", res.ID)
	defer func() { res.Finished = p.now() }()

	if len(dests) > 0 && !anyUsable(dests) {
		// Reading the source (a whole raft snapshot) would be wasted: nowhere can take it.
		res.Destinations = notAttempted(dests, errors.New("no destination could be opened"))
		log.Error(res.Summary(), "err", res.Error())
		return res
	}
	art, err := src.Open(ctx)
	if err != nil {
		res.Err = err
		res.Destinations = notAttempted(dests, err)
		return res
	}
	defer art.Body.Close()

	encrypt := p.Encryption != nil && len(p.Encryption.Recipients) > 0
	ext := dataExt(art.Ext, art.Compress, encrypt)
	key := catalog.DataKey(src.Name(), res.ID, ext)
	log.Info("backup started", "destinations", len(dests), "key", key)

	fan := startSinks(ctx, dests, key, ringSize(dests, p.RingSize), p.stallTimeout(), p.clock())
	sum := newCountingHash(fan)
	stk, err := buildStack(sum, art.Compress, p.CompressionLevel, ZstdThreads(p.CompressionThreads), p.Encryption)
	if err != nil {
		fan.abort(err)
		res.Err = err
		res.Destinations = p.results(fan, nil)
		return res
	}

	streamErr := p.stream(ctx, art, stk)
	m := &catalog.Manifest{
		FormatVersion:   catalog.FormatVersion,
		ID:              res.ID,
		Source:          catalog.SourceRef{Kind: src.Kind(), Name: src.Name()},
		Created:         started,
		DataKey:         catalog.DataName(ext),
		Size:            sum.size,
		SHA256:          hex.EncodeToString(sum.h.Sum(nil)),
		LifeboatVersion: p.Version,
	}
	if art.Compress {
		m.Compression = catalog.CompressionZstd
	}
	if encrypt {
		m.Encryption = &catalog.Encryption{Kind: "age", Recipients: p.Encryption.Fingerprints}
	}
	if streamErr == nil && art.Finish != nil {
		streamErr = art.Finish(ctx, m)
	}
	var extras []storedExtra
	if streamErr == nil {
		extras, streamErr = p.prepareExtras(ctx, art, m)
	}
	if streamErr == nil {
		streamErr = ctx.Err()
	}
	if streamErr != nil {
		// Abort before any upload sees end-of-stream: no store may commit this object.
		fan.abort(streamErr)
		res.Err = streamErr
		res.Destinations = p.results(fan, nil)
		log.Error("backup failed; nothing was committed", "err", streamErr)
		return res
	}
	fan.finish()
	m.Finished = p.now()
	res.Destinations = p.results(fan, m)
	res.Warnings = p.assess(ctx, fan, m, log)
	p.commit(ctx, fan, m, extras, res)
	for _, d := range res.Destinations {
		if d.OK {
			res.Manifest = m
		}
	}
	switch res.Status() {
	case StatusOK:
		log.Info(res.Summary(), "size", m.Size, "sha256", m.SHA256)
	case StatusPartial:
		log.Warn(res.Summary(), "size", m.Size, "sha256", m.SHA256, "err", res.Error())
	default:
		log.Error(res.Summary(), "err", res.Error())
	}
	return res
}

// stream copies the source through the stages while the inspector (if any) checks the
// raw bytes from a ring of its own, so the check runs beside the hashing and the uploads
// instead of before them. The inspector's verdict wins over other errors: "the snapshot
// is truncated" tells the operator more than "broken pipe".
func (p *Pipeline) stream(ctx context.Context, art *source.Artifact, stk *stack) error {
	var inspectDone chan error
	writers := []io.Writer{stk}
	var iring *ring.Ring
	if art.Inspect != nil {
		iring = ring.New(inspectRingSize, 0, p.clock())
		defer iring.Free()
		ird := iring.NewReader(ctx, "the artifact check", nil)
		inspectDone = make(chan error, 1)
		go func() {
			err := art.Inspect(ird)
			if err == nil {
				// The check is done, so the stream must end here too: wait for the
				// writer to close it (or to write what the check left unread).
				var b [1]byte
				if n, rerr := ird.Read(b[:]); n > 0 {
					err = errInspectorStopped
				} else if !errors.Is(rerr, io.EOF) {
					err = rerr
				} else if ird.Finish() != nil {
					err = errInspectorStopped
				}
			}
			if err != nil {
				ird.Detach(err)
			}
			inspectDone <- err
		}()
		writers = append([]io.Writer{inspectWriter{iring}}, writers...)
	}
	buf := make([]byte, p.bufferSize())
	body := newStallGuard(art.Body, p.stallTimeout(), p.clock())
	_, copyErr := io.CopyBuffer(io.MultiWriter(writers...), ctxReader{ctx, body}, buf)
	if copyErr == nil {
		copyErr = stk.Close()
	}
	if copyErr != nil && !errors.Is(copyErr, errNoDestinationLeft) && !errors.Is(copyErr, errInspectorStopped) {
		copyErr = fmt.Errorf("reading the %s stream: %w", art.Ext, copyErr)
	}
	if art.Inspect == nil {
		return copyErr
	}
	if copyErr != nil {
		iring.Abort(copyErr)
	} else {
		iring.Close()
	}
	if inspectErr := <-inspectDone; inspectErr != nil {
		return inspectErr
	}
	return copyErr
}

// inspectRingSize is the inspector's own ring: a few read buffers, so the check may fall
// a little behind the read without holding it.
const inspectRingSize = 1 << 20

// inspectWriter feeds the inspector's ring; an inspector that stopped reading is
// errInspectorStopped, and its own verdict is what the run reports.
type inspectWriter struct{ r *ring.Ring }

func (w inspectWriter) Write(p []byte) (int, error) {
	n, err := w.r.Write(p)
	if errors.Is(err, ring.ErrNoReader) {
		err = errInspectorStopped
	}
	return n, err
}

// commit writes the manifest to every destination that holds the whole data object, then
// applies that destination's retention. Destinations are independent: a failure in one is
// recorded and the next one goes on.
func (p *Pipeline) commit(ctx context.Context, fan *fanout, m *catalog.Manifest, extras []storedExtra, res *Result) {
	stored := map[string][]byte{}
	for _, x := range extras {
		stored[x.name] = x.data
	}
	open := func(x catalog.ExtraObject) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(stored[x.Name])), nil
	}
	for i, s := range fan.sinks {
		d := &res.Destinations[i]
		if s.failed != nil {
			continue
		}
		if err := CommitBackup(ctx, s.dest.Store, m, p.Signer, open); err != nil {
			d.OK = false
			d.Err = fmt.Errorf("data uploaded but %w", err)
			continue
		}
		d.OK = true
		d.Pruned, d.PruneErr = p.prune(ctx, s.dest, m.Source.Name)
	}
}

// assess marks m against the backups already committed in this run's destinations (the
// newest across all of them), before any manifest is written. A destination that cannot
// be listed is left out of the comparison: the check must never fail a backup.
func (p *Pipeline) assess(ctx context.Context, fan *fanout, m *catalog.Manifest, log *slog.Logger) []string {
	var previous []catalog.Backup
	for _, s := range fan.sinks {
		if s.failed != nil {
			continue
		}
		backups, _, err := catalog.ListTrusted(ctx, s.dest.Store, m.Source.Name, p.Trust)
		if err != nil {
			log.Warn("cannot compare with the earlier backups of this destination", "destination", s.dest.Name, "err", err)
			continue
		}
		previous = append(previous, backups...)
	}
	warnings := catalog.Assess(m, previous, catalog.AssessOptions{Shrink: p.Shrink, AcceptShrink: p.AcceptShrink})
	for _, w := range warnings {
		log.Warn("backup warning", "lineage", m.Lineage, "warning", w)
	}
	return warnings
}

// prune applies the destination's retention after this run's backup is committed there.
func (p *Pipeline) prune(ctx context.Context, d Destination, source string) ([]string, error) {
	opts := catalog.PruneOptions{UnfinishedBefore: p.now().Add(-p.unfinishedGrace()), Now: p.now()}
	if d.Retention.KeepsEverything() {
		return nil, nil
	}
	backups, _, err := catalog.ListTrusted(ctx, d.Store, source, p.Trust)
	if err != nil {
		return nil, err
	}
	pr, err := catalog.Prune(ctx, d.Store, source, catalog.Plan(p.now(), backups, d.Retention), opts)
	if len(pr.Deleted) > 0 {
		p.logger().Info("retention pruned backups", "destination", d.Name, "deleted", pr.Deleted, "unfinished", len(pr.Unfinished))
	}
	if len(pr.Locked) > 0 {
		p.logger().Info("retention keeps backups whose object lock has not ended; a later prune deletes them",
			"destination", d.Name, "locked", pr.Locked)
	}
	return pr.Deleted, err
}

func (p *Pipeline) results(fan *fanout, m *catalog.Manifest) []DestinationResult {
	out := make([]DestinationResult, len(fan.sinks))
	for i, s := range fan.sinks {
		out[i] = DestinationResult{Name: s.dest.Name, Store: s.dest.String(), Err: s.failed, Duration: p.clock().Now().Sub(s.start)}
		if m != nil && s.failed == nil {
			out[i].Size = m.Size
		}
	}
	return out
}

// notAttempted is the result of a run that stopped before any upload. A destination that
// could not be opened keeps its own reason: it says what to fix there.
func notAttempted(dests []Destination, cause error) []DestinationResult {
	out := make([]DestinationResult, len(dests))
	for i, d := range dests {
		out[i] = DestinationResult{Name: d.Name, Store: d.String(), Err: d.OpenErr}
		if d.OpenErr == nil {
			out[i].Err = fmt.Errorf("not attempted: %w", cause)
		}
	}
	return out
}

func anyUsable(dests []Destination) bool {
	for _, d := range dests {
		if d.OpenErr == nil {
			return true
		}
	}
	return false
}

func (p *Pipeline) stallTimeout() time.Duration {
	if p.StallTimeout > 0 {
		return p.StallTimeout
	}
	return DefaultStallTimeout
}

func (p *Pipeline) unfinishedGrace() time.Duration {
	if p.UnfinishedGrace > 0 {
		return p.UnfinishedGrace
	}
	return DefaultUnfinishedGrace
}

func (p *Pipeline) bufferSize() int {
	if p.BufferSize > 0 {
		return p.BufferSize
	}
	return DefaultBufferSize
}

// ctxReader stops a copy promptly when the run is cancelled (SIGTERM, shutdown), even if
// the source itself ignores the context.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
