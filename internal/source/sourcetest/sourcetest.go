// Package sourcetest is a fake source.Source for tests of what reads sources (the
// pipeline, app, serve). The real Vault and PostgreSQL sources are tested against real
// servers in their own packages and in test/.
package sourcetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// GateAfter is how many bytes a gated body sends before it waits on the gate: a backup
// that is under way, not one that has not started.
const GateAfter = 100

// ErrReset is the default ReadErr: a connection that broke mid-stream.
var ErrReset = errors.New("read tcp 127.0.0.1:8200: connection reset by peer")

// Source streams Data. Set the fields before the first Open; Open may be called
// concurrently.
type Source struct {
	name, kind string
	// Data is the raw artifact.
	Data []byte
	// Ext is the artifact's extension; "" means "snap".
	Ext string
	// Compress asks the pipeline to zstd the stream, as PostgreSQL dumps do.
	Compress bool

	// OpenErr fails Open, as an unreachable or sealed server does.
	OpenErr error
	// ReadErr, when set, breaks the stream after FailAt bytes.
	ReadErr error
	FailAt  int
	// Gate, when set, holds the stream after GateAfter bytes until it is closed, the
	// context given to Open ends (the error is then the context's) or the body is closed
	// (a hung server whose connection is dropped).
	Gate <-chan struct{}

	// InspectErr is Inspect's verdict after it read the whole stream. Sources of kind
	// vault always have an Inspect, as the real one does; others only with InspectErr.
	InspectErr error
	// Record, when set, is what Finish records in the manifest.
	Record func(*catalog.Manifest)
	// FinishErr is a late failure, like pg_dump's exit status.
	FinishErr error
	// Extras are the side objects; ExtrasErr fails reading them.
	Extras    []source.Extra
	ExtrasErr error

	opens atomic.Int64
}

var _ source.Source = (*Source)(nil)

// New is a source called name of the given kind that streams data.
func New(name, kind string, data []byte) *Source {
	return &Source{name: name, kind: kind, Data: data}
}

// Vault is a source called "vault" of kind vault that streams data.
func Vault(data []byte) *Source { return New("vault", config.KindVault, data) }

func (s *Source) Name() string { return s.name }
func (s *Source) Kind() string { return s.kind }

// Opens counts the calls of Open: a run that must not read the source leaves it at 0.
func (s *Source) Opens() int { return int(s.opens.Load()) }

func (s *Source) Open(ctx context.Context) (*source.Artifact, error) {
	s.opens.Add(1)
	if s.OpenErr != nil {
		return nil, s.OpenErr
	}
	var r io.Reader = bytes.NewReader(s.Data)
	if s.ReadErr != nil {
		r = io.MultiReader(bytes.NewReader(s.Data[:s.FailAt]), errReader{s.ReadErr})
	}
	body := io.NopCloser(r)
	if s.Gate != nil {
		body = &gated{ctx: ctx, gate: s.Gate, r: r, closed: make(chan struct{})}
	}
	art := &source.Artifact{Body: body, Ext: s.Ext, Compress: s.Compress}
	if art.Ext == "" {
		art.Ext = "snap"
	}
	if s.kind == config.KindVault || s.InspectErr != nil {
		art.Inspect = func(r io.Reader) error {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			return s.InspectErr
		}
	}
	if s.Record != nil || s.FinishErr != nil {
		art.Finish = func(_ context.Context, m *catalog.Manifest) error {
			if s.Record != nil {
				s.Record(m)
			}
			return s.FinishErr
		}
	}
	if s.Extras != nil || s.ExtrasErr != nil {
		art.Extras = func(context.Context) ([]source.Extra, error) { return s.Extras, s.ExtrasErr }
	}
	return art, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// gated sends GateAfter bytes, then waits for the gate.
type gated struct {
	ctx       context.Context
	gate      <-chan struct{}
	r         io.Reader
	sent      int
	closed    chan struct{}
	closeOnce sync.Once
}

func (g *gated) Read(p []byte) (int, error) {
	if g.sent >= GateAfter {
		select {
		case <-g.gate:
		case <-g.ctx.Done():
			return 0, g.ctx.Err()
		case <-g.closed:
			return 0, errors.New("read tcp 127.0.0.1:8200: use of closed network connection")
		}
	} else if len(p) > GateAfter-g.sent {
		p = p[:GateAfter-g.sent]
	}
	n, err := g.r.Read(p)
	g.sent += n
	return n, err
}

func (g *gated) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return nil
}
