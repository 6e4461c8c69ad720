package vault

import (
	"context"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Source is a configured Vault/OpenBao cluster as a backup source.
type Source struct {
	name   string
	client *Client
}

// NewSource wraps a client as the named source.
func NewSource(name string, c *Client) *Source { return &Source{name: name, client: c} }

func (s *Source) Name() string { return s.name }
func (s *Source) Kind() string { return "vault" }

// Open logs in, finds the leader and starts streaming its snapshot. The snapshot is
// already gzip, so the pipeline does not compress it again.
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
	return &source.Artifact{
		Body: body,
		Ext:  "snap",
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
