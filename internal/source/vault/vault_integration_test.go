package vault

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

func tokenAuth(token string) Auth {
	return Auth{Method: AuthToken, Describe: "the test", Token: func() (string, error) { return token, nil }}
}

func snapshotOnce(t *testing.T, c *Client) (Leader, SnapshotInfo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	leader, err := c.FindLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body, err := c.Snapshot(ctx, leader)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	info, err := InspectSnapshot(body)
	if err != nil {
		t.Fatalf("real snapshot failed inspection: %v", err)
	}
	return leader, info
}

func TestSnapshotComesFromTheLeaderWhenPointedAtAStandby(t *testing.T) {
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		v := testenv.StartVaultCluster(t, flavor, 3)
		standby := v.Nodes[2]
		c, err := New(Options{Address: standby.Addr, Auth: tokenAuth(v.RootToken)})
		if err != nil {
			t.Fatal(err)
		}
		leader, info := snapshotOnce(t, c)
		if leader.Address != v.Nodes[0].Addr {
			t.Fatalf("snapshot taken from %s, want the leader %s", leader.Address, v.Nodes[0].Addr)
		}
		if info.Index == 0 || leader.Version == "" {
			t.Fatalf("snapshot info %+v, leader %+v", info, leader)
		}

		// The standby itself answers a direct snapshot request with a redirect (or an
		// empty body): lifeboat must call that an error, not a backup.
		body, err := c.Snapshot(context.Background(), Leader{Address: standby.Addr})
		if err == nil {
			_, inspectErr := InspectSnapshot(body)
			body.Close()
			if inspectErr == nil {
				t.Fatal("a standby's snapshot answer was accepted as a valid snapshot")
			}
		} else if !strings.Contains(err.Error(), "standby") {
			t.Fatalf("standby error does not say so: %v", err)
		}
	})
}

func TestClearErrors(t *testing.T) {
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		v := testenv.StartVault(t, flavor)
		root := v.Client()
		ctx := context.Background()
		if err := root.Sys().PutPolicy("no-snapshot", `path "secret/*" { capabilities = ["read"] }`); err != nil {
			t.Fatal(err)
		}
		limited, err := root.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"no-snapshot"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := root.Sys().EnableAuthWithOptions("approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.Logical().Write("auth/approle/role/lifeboat", map[string]any{"token_policies": "snapshot"}); err != nil {
			t.Fatal(err)
		}
		if err := root.Sys().PutPolicy("snapshot", SnapshotPolicy); err != nil {
			t.Fatal(err)
		}
		roleID, err := root.Logical().Read("auth/approle/role/lifeboat/role-id")
		if err != nil {
			t.Fatal(err)
		}
		secretID, err := root.Logical().Write("auth/approle/role/lifeboat/secret-id", nil)
		if err != nil {
			t.Fatal(err)
		}
		fixed := func(s string) func() (string, error) { return func() (string, error) { return s, nil } }
		appRole := func(secret string) Auth {
			return Auth{Method: AuthAppRole, RoleID: fixed(roleID.Data["role_id"].(string)), SecretID: fixed(secret)}
		}

		t.Run("approle works", func(t *testing.T) {
			c, _ := New(Options{Address: v.Addr(), Auth: appRole(secretID.Data["secret_id"].(string))})
			snapshotOnce(t, c)
		})

		tests := []struct {
			name string
			auth Auth
			want []string
		}{
			{"wrong token", tokenAuth("s.not-a-real-token"), []string{"rejected the token", "the test"}},
			{"wrong approle secret", appRole("00000000-0000-0000-0000-000000000000"), []string{"AppRole login at auth/approle failed", "secret id"}},
			{"approle secret id needed but not configured", appRole(""), []string{"role id only (no secret id configured)", "bind_secret_id=false", "vault.auth.approle.secretID"}},
			{"missing permission", tokenAuth(limited.Auth.ClientToken), []string{"permission denied", SnapshotPolicy}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, err := New(Options{Address: v.Addr(), Auth: tt.auth})
				if err != nil {
					t.Fatal(err)
				}
				err = c.Login(ctx)
				if err == nil {
					var leader Leader
					if leader, err = c.FindLeader(ctx); err == nil {
						var body io.ReadCloser
						if body, err = c.Snapshot(ctx, leader); err == nil {
							body.Close()
						}
					}
				}
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
			})
		}

		// docs promise roles with bind_secret_id=false work; Vault insists on a CIDR bound.
		t.Run("approle without a secret id", func(t *testing.T) {
			if _, err := root.Logical().Write("auth/approle/role/no-secret", map[string]any{
				"token_policies": "snapshot", "bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.1/32",
			}); err != nil {
				t.Fatal(err)
			}
			id, err := root.Logical().Read("auth/approle/role/no-secret/role-id")
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []func() (string, error){nil, fixed("")} {
				c, err := New(Options{Address: v.Addr(), Auth: Auth{Method: AuthAppRole, RoleID: fixed(id.Data["role_id"].(string)), SecretID: secret}})
				if err != nil {
					t.Fatal(err)
				}
				snapshotOnce(t, c)
			}
		})

		// A periodic token expires one period after its last renewal: a login past half
		// the period must renew it.
		t.Run("periodic token is renewed", func(t *testing.T) {
			const period = 8 * time.Second
			tok, err := root.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"snapshot"}, Period: period.String()})
			if err != nil {
				t.Fatal(err)
			}
			ttlOf := func() time.Duration {
				t.Helper()
				sec, err := root.Auth().Token().Lookup(tok.Auth.ClientToken)
				if err != nil {
					t.Fatal(err)
				}
				ttl, err := sec.TokenTTL()
				if err != nil {
					t.Fatal(err)
				}
				return ttl
			}
			time.Sleep(period/2 + time.Second)
			if before := ttlOf(); before >= period/2 {
				t.Fatalf("ttl %s before the login: the token is not past half its period", before)
			}
			c, err := New(Options{Address: v.Addr(), Auth: tokenAuth(tok.Auth.ClientToken)})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Login(ctx); err != nil {
				t.Fatal(err)
			}
			if after := ttlOf(); after < period-2*time.Second {
				t.Fatalf("ttl %s after the login: the periodic token was not renewed", after)
			}
		})

		t.Run("unreachable", func(t *testing.T) {
			c, _ := New(Options{Address: "http://127.0.0.1:1", Auth: tokenAuth(v.RootToken)})
			_, err := c.FindLeader(ctx)
			if err == nil || !strings.Contains(err.Error(), "cannot reach vault at http://127.0.0.1:1") {
				t.Fatalf("error = %v", err)
			}
		})
		t.Run("sealed", func(t *testing.T) {
			if err := root.Sys().Seal(); err != nil {
				t.Fatal(err)
			}
			c, _ := New(Options{Address: v.Addr(), Auth: tokenAuth(v.RootToken)})
			_, err := c.FindLeader(ctx)
			if err == nil || !strings.Contains(err.Error(), "is sealed") {
				t.Fatalf("error = %v", err)
			}
		})
	})
}

// The node list must survive node 0 being down (a rolling restart, a lost pod): login,
// leader discovery and the snapshot use whichever nodes answer, and confirming a restore
// does not wait for the node that is gone.
func TestBackupAndRestoreWithNodeZeroDown(t *testing.T) {
	testenv.ForEachFlavor(t, func(t *testing.T, flavor testenv.Flavor) {
		v := testenv.StartVaultCluster(t, flavor, 3)
		v.WaitVoters(t)
		v.Nodes[0].Stop()
		testenv.WaitFor(t, nil, 90*time.Second, "a new leader among node1 and node2", func(ctx context.Context) error {
			for _, n := range v.Nodes[1:] {
				if l, err := n.Client(v.RootToken).Sys().LeaderWithContext(ctx); err == nil && l.IsSelf {
					return nil
				}
			}
			return errors.New("no leader yet")
		})
		var nodes []string
		for _, n := range v.Nodes {
			nodes = append(nodes, n.Addr)
		}
		c, err := New(Options{Nodes: nodes, Timeout: 10 * time.Second, Auth: tokenAuth(v.RootToken)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		art, err := NewSource("vault", c).Open(ctx)
		if err != nil {
			t.Fatalf("backup with node 0 down: %v", err)
		}
		snap, err := io.ReadAll(art.Body)
		art.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := InspectSnapshot(bytes.NewReader(snap)); err != nil {
			t.Fatalf("snapshot with node 0 down: %v", err)
		}
		leader, err := c.FindLeader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if leader.Address == v.Nodes[0].Addr {
			t.Fatalf("leader %s is the stopped node", leader.Address)
		}

		if err := c.Restore(ctx, leader, bytes.NewReader(snap), false); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		out, err := c.ConfirmRestore(ctx, nil, 500*time.Millisecond, false)
		if err != nil {
			t.Fatalf("confirming the restore with node 0 down: %v", err)
		}
		if out.HealthStatus != "active" || time.Since(start) > time.Minute {
			t.Fatalf("restore confirmed as %+v after %s", out, time.Since(start))
		}
	})
}
