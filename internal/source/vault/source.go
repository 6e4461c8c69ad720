package vault

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Source is a configured Vault/OpenBao cluster as a backup source.
type Source struct {
	name   string
	client *Client
	// compression is vault.compression: auto, zstd or none ("" is auto).
	compression string
	// stall bounds the wait for the first bytes of the snapshot when compression is
	// auto (see compressDecision); zero means pipeline.DefaultStallTimeout.
	stall time.Duration
}

// NewSource wraps a client as the named source, with compression "auto".
func NewSource(name string, c *Client) *Source { return &Source{name: name, client: c} }

// WithCompression sets the source's vault.compression mode (auto, zstd or none) and how
// long auto may wait for the snapshot's first bytes (the source's stallTimeout; zero is
// the pipeline's default).
func (s *Source) WithCompression(mode string, stall time.Duration) *Source {
	s.compression, s.stall = mode, stall
	return s
}

func (s *Source) Name() string { return s.name }
func (s *Source) Kind() string { return "vault" }

// Open logs in, finds the leader and starts streaming its snapshot. The snapshot is a
// gzip archive; whether the pipeline zstd-compresses it is the source's compression
// setting (auto: only when the gzip stores its data uncompressed). The inspection always
// reads the raw snapshot as the server sent it.
func (s *Source) Open(ctx context.Context) (*source.Artifact, error) {
	if err := s.client.Login(ctx); err != nil {
		return nil, err
	}
	leader, err := s.client.FindLeader(ctx)
	if err != nil {
		return nil, err
	}
	body, err := s.client.Snapshot(ctx, leader)
	if err != nil {
		return nil, err
	}
	var info SnapshotInfo
	stall := s.stall
	if stall <= 0 {
		stall = pipeline.DefaultStallTimeout
	}
	r, compress, err := compressDecision(s.compression, body, stall)
	if err != nil {
		body.Close()
		return nil, fmt.Errorf("snapshot from the raft leader at %s: %w", leader.Address, err)
	}
	return &source.Artifact{
		Body:     readCloser{Reader: r, Closer: body},
		Ext:      "snap",
		Compress: compress,
		Inspect: func(r io.Reader) error {
			var err error
			info, err = InspectSnapshot(r)
			return err
		},
		Finish: func(_ context.Context, m *catalog.Manifest) error {
			m.Vault = &catalog.VaultInfo{
				Version:       leader.Version,
				LeaderAddress: leader.Advertise,
				RaftIndex:     info.Index,
				RaftTerm:      info.Term,
				ClusterID:     leader.ClusterID,
				RaftServers:   info.ServerIDs(),
				SnapshotSize:  info.StateBytes,
			}
			// The cluster id is made at initialisation and comes back with a restored
			// snapshot: a re-initialised cluster starts a new lineage.
			m.Lineage = leader.ClusterID
			return nil
		},
	}, nil
}

// readCloser reads through a peeking reader and closes the response body beneath it.
type readCloser struct {
	io.Reader
	io.Closer
}
