package vault

import (
	"context"
	"fmt"
	vaultapi "github.com/hashicorp/vault/api"
	"strings"
)

// Leader is the raft leader found for a run.
type Leader struct {
	Address   string // the address lifeboat uses to reach it
	Advertise string // the leader's own api_addr, as the cluster reports it
	Version   string
	ClusterID string
}

// FindLeader asks every configured address who leads. A node that says it is the leader is
// used by the address lifeboat already reaches it at; otherwise the advertised leader
// address is tried. Pointing lifeboat at a standby therefore still snapshots the leader.
func (c *Client) FindLeader(ctx context.Context) (Leader, error) {
	var problems []string
	advertised := map[string]bool{}
	for _, addr := range c.candidates() {
		l, err := c.leaderAt(ctx, addr)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if l.Address != "" {
			return l, nil
		}
		if l.Advertise != "" {
			advertised[l.Advertise] = true
		}
	}
	for addr := range advertised {
		l, err := c.leaderAt(ctx, addr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("the advertised leader %s: %v", addr, err))
			continue
		}
		if l.Address != "" {
			return l, nil
		}
	}
	if len(problems) == 0 {
		problems = append(problems, "no node reported a leader (is the cluster electing, or HA disabled?)")
	}
	return Leader{}, fmt.Errorf("cannot find the raft leader among %s: %s", strings.Join(c.candidates(), ", "), strings.Join(problems, "; "))
}

// leaderAt returns Address set when addr is the leader, else only Advertise.
func (c *Client) leaderAt(ctx context.Context, addr string) (Leader, error) {
	api, err := c.at(addr)
	if err != nil {
		return Leader{}, err
	}
	seal, err := api.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return Leader{}, explain(addr, "report its seal status", err)
	}
	if !seal.Initialized {
		return Leader{}, fmt.Errorf("vault at %s is not initialised: there is nothing to back up (to recover a wiped cluster, see `lifeboat restore vault --help`)", addr)
	}
	if seal.Sealed {
		return Leader{}, fmt.Errorf("vault at %s is sealed: unseal it (or wait for auto-unseal) before backing up", addr)
	}
	if seal.StorageType != "" && seal.StorageType != "raft" {
		return Leader{}, fmt.Errorf("vault at %s uses %q storage, not raft (Integrated Storage): lifeboat backs up raft clusters only", addr, seal.StorageType)
	}
	l, err := api.Sys().LeaderWithContext(ctx)
	if err != nil {
		return Leader{}, explain(addr, "report its raft leader", err)
	}
	if !l.HAEnabled {
		return Leader{}, fmt.Errorf("vault at %s reports HA disabled: raft storage is required for snapshots", addr)
	}
	out := Leader{Advertise: strings.TrimRight(l.LeaderAddress, "/"), Version: seal.Version, ClusterID: seal.ClusterID}
	if l.IsSelf {
		out.Address = addr
	}
	return out, nil
}

// LeaderAPI logs in and returns an API client for the raft leader, for operations
// beyond snapshots (recovering single secrets). Writes go to the leader directly.
func (c *Client) LeaderAPI(ctx context.Context) (*vaultapi.Client, error) {
	if err := c.Login(ctx); err != nil {
		return nil, err
	}
	l, err := c.FindLeader(ctx)
	if err != nil {
		return nil, err
	}
	return c.at(l.Address)
}
