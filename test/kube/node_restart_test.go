package kube

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The admin guide's "node restart": the node's kubelet and containerd stop and every
// container dies; when they come back, the OpenBao pods come back on their volumes with
// their data (sealed, as Shamir-sealed servers do, and unsealed with the keys), and the
// next backup succeeds next to the ones taken before the restart.
//
// Not parallel: a node restart stops every pod on the node, so it runs before the
// parallel tests start.
func TestNodeRestart(t *testing.T) {
	c := cluster(t)
	const (
		ns      = "lb-restart"
		release = "lifeboat"
	)
	bao := deployOpenBao(t, c, "openbao-restart", 110)
	secrets := bao.writeSecrets(3)
	bao.enableKubernetesAuth(release, ns)

	namespace(t, c, ns)
	secret(t, c, ns, "openbao-ca", map[string]string{"ca.crt": string(bao.caPEM)})
	values := map[string]any{
		"image": map[string]any{"tag": "dev", "pullPolicy": "Never"},
		"vault": map[string]any{
			"address": bao.addr(0),
			"nodes":   bao.addrs(),
			"tls":     map[string]any{"secretRef": map[string]any{"name": "openbao-ca", "caKey": "ca.crt"}},
			"auth":    map[string]any{"method": "kubernetes", "kubernetes": map[string]any{"role": "lifeboat"}},
			"backup":  map[string]any{"enabled": true},
		},
		"destinations": []any{map[string]any{"name": "pvc", "type": "file", "persistence": map[string]any{"size": "1Gi"}}},
		"cronjob":      map[string]any{"suspend": true},
	}
	helm(t, c, "install", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))
	ok, logs := runJobFromCronJob(t, c, ns, release+"-backup-vault", "before-restart", 3*time.Minute)
	mustJob(t, ok, logs)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c.RestartNode(ctx); err != nil {
		t.Fatalf("restart the node: %v", err)
	}
	bao.waitAnswering()
	sealed := 0
	for i := 0; i < openBaoReplicas; i++ {
		if st, err := bao.sealStatus(i); err == nil && st.Sealed && st.Initialized {
			sealed++
		}
	}
	if sealed != openBaoReplicas {
		t.Fatalf("after the restart %d of %d replicas came back initialised and sealed; their data should have survived", sealed, openBaoReplicas)
	}
	bao.unsealAll()
	waitUntil(t, 2*time.Minute, "the secrets to read back after the restart", func() error {
		return bao.checkSecrets(bao.leader(), bao.rootToken, secrets)
	})

	// The next scheduled backup (every minute from now on) succeeds; then the schedule stops
	// so nothing of this test runs beside the parallel ones.
	values["cronjob"] = map[string]any{"suspend": false}
	values["vault"].(map[string]any)["backup"] = map[string]any{"enabled": true, "schedule": "* * * * *"}
	helm(t, c, "upgrade", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))
	waitScheduledJob(t, c, ns, "backup-vault", 4*time.Minute)
	values["cronjob"] = map[string]any{"suspend": true}
	helm(t, c, "upgrade", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))
	waitNoActiveJobs(t, c, ns)
	ids := committedOnPVC(t, c, ns, release+"-dest-pvc", "vault")
	if len(ids) < 2 || !strings.HasPrefix(ids[0], "vault-") {
		t.Fatalf("want the backup from before the restart and the scheduled ones after it on the PVC, got %v", ids)
	}
	// The OpenBao of this test is not needed by the others; free the node.
	ctxDel, cancelDel := context.WithTimeout(context.Background(), time.Minute)
	defer cancelDel()
	_, _ = c.Do(ctxDel, "DELETE", objectPath("Namespace", "", bao.ns), nil, nil)
}
