package vault

import (
	"context"
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
