package testenv

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/minio-go/v7"
)

// These smoke tests prove each real server starts, serves, and stops cleanly. The
// product's own tests build on the same helpers.

func TestVaultRaftServerStoresSecrets(t *testing.T) {
	ForEachFlavor(t, func(t *testing.T, flavor Flavor) {
		t.Parallel()
		v := StartVault(t, flavor)
		c := v.Client()
		if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			t.Fatalf("mount kv: %v", err)
		}
		// A fresh KV v2 mount answers 400 while it upgrades itself to versioned storage.
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := c.KVv2("secret").Put(context.Background(), "app", map[string]any{"password": "hunter2"})
			if err == nil {
				break
			}
			if !strings.Contains(err.Error(), "Upgrading from non-versioned") || time.Now().After(deadline) {
				t.Fatalf("write secret: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		got, err := c.KVv2("secret").Get(context.Background(), "app")
		if err != nil {
			t.Fatalf("read secret: %v", err)
		}
		if got.Data["password"] != "hunter2" {
			t.Fatalf("secret = %v", got.Data)
		}
		st, err := c.Sys().RaftAutopilotState()
		if err != nil {
			t.Fatalf("raft autopilot state (is storage raft?): %v", err)
		}
		if len(st.Servers) != 1 {
			t.Fatalf("raft servers = %d, want 1", len(st.Servers))
		}
		if len(v.UnsealKeys) != 3 || v.RootToken == "" {
			t.Fatalf("init material not handed to the test: %d keys", len(v.UnsealKeys))
		}
	})
}

func TestVaultThreeNodeRaftCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster start takes ~30s")
	}
	ForEachFlavor(t, func(t *testing.T, flavor Flavor) {
		v := StartVaultCluster(t, flavor, 3)
		if got := v.Leader(t); got != v.Nodes[0] {
			t.Fatalf("leader = %s, want node0", got.NodeID)
		}
		ids, err := v.RaftServers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 3 {
			t.Fatalf("raft has servers %v, want 3", ids)
		}
		for _, n := range v.Nodes[1:] {
			l, err := n.Client(v.RootToken).Sys().Leader()
			if err != nil || l.IsSelf {
				t.Fatalf("%s: leader=%+v err=%v, want a standby", n.NodeID, l, err)
			}
		}
	})
}

func TestPostgresServesQueries(t *testing.T) {
	p := StartPostgres(t)
	conn := p.Connect("postgres")
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int primary key, name text); INSERT INTO t VALUES (1, 'row one')"); err != nil {
		t.Fatal(err)
	}
	var name, version string
	if err := conn.QueryRow(ctx, "SELECT name, current_setting('server_version') FROM t WHERE id = 1").Scan(&name, &version); err != nil {
		t.Fatal(err)
	}
	if name != "row one" || !strings.HasPrefix(version, PostgresMajor+".") {
		t.Fatalf("got %q on server %s", name, version)
	}
}

func TestMinIOStoresObjects(t *testing.T) {
	m := StartMinIO(t)
	m.MakeBucket("smoke")
	ctx := context.Background()
	c := m.Client()
	payload := []byte("hello lifeboat")
	if _, err := c.PutObject(ctx, "smoke", "a/b.txt", bytes.NewReader(payload), int64(len(payload)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(ctx, "smoke", "a/b.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("got %q, %v", got, err)
	}
	// Restart on the same data: the object survives, as fault tests rely on.
	m.Stop()
	m.Start()
	if _, err := c.StatObject(ctx, "smoke", "a/b.txt", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("object lost across restart: %v", err)
	}
}

func TestKubeAPIServer(t *testing.T) {
	k := StartKube(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	secret := map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": "unseal-keys", "namespace": "default"},
		"stringData": map[string]string{"key1": "abc"},
	}
	k.MustDo(http.MethodPost, "/api/v1/namespaces/default/secrets", secret, nil)
	var got struct{ Data map[string][]byte }
	k.MustDo(http.MethodGet, "/api/v1/namespaces/default/secrets/unseal-keys", nil, &got)
	if string(got.Data["key1"]) != "abc" {
		t.Fatalf("secret data = %v", got.Data)
	}

	deploy := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "workflow-controller", "namespace": "default"},
		"spec": map[string]any{
			"replicas": 2,
			"selector": map[string]any{"matchLabels": map[string]string{"app": "wc"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]string{"app": "wc"}},
				"spec":     map[string]any{"containers": []map[string]any{{"name": "c", "image": "busybox"}}},
			},
		},
	}
	// Server-side dry-run stores nothing.
	k.MustDo(http.MethodPost, "/apis/apps/v1/namespaces/default/deployments?dryRun=All", deploy, nil)
	if _, err := k.Do(ctx, http.MethodGet, "/apis/apps/v1/namespaces/default/deployments/workflow-controller", nil, nil); err == nil {
		t.Fatal("dry-run created the deployment")
	}
	k.MustDo(http.MethodPost, "/apis/apps/v1/namespaces/default/deployments", deploy, nil)
	scalePath := "/apis/apps/v1/namespaces/default/deployments/workflow-controller/scale"
	k.MustDo(http.MethodPatch, scalePath, map[string]any{"spec": map[string]any{"replicas": 0}}, nil)
	var scale struct {
		Spec struct{ Replicas int } `json:"spec"`
	}
	k.MustDo(http.MethodGet, scalePath, nil, &scale)
	if scale.Spec.Replicas != 0 {
		t.Fatalf("replicas = %d after scale to 0", scale.Spec.Replicas)
	}

	review := map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": map[string]any{"token": k.Token}}
	var rv struct {
		Status struct {
			Authenticated bool
			User          struct{ Username string }
		}
	}
	k.MustDo(http.MethodPost, "/apis/authentication.k8s.io/v1/tokenreviews", review, &rv)
	if !rv.Status.Authenticated || rv.Status.User.Username != "lifeboat-admin" {
		t.Fatalf("token review = %+v", rv.Status)
	}
	var roles struct{ Items []any }
	k.MustDo(http.MethodGet, "/apis/rbac.authorization.k8s.io/v1/clusterroles", nil, &roles)
	if len(roles.Items) == 0 {
		t.Fatal("no RBAC bootstrap cluster roles")
	}
}
