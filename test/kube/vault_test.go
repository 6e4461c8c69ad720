package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// The chart in cronjob mode against an in-cluster OpenBao: a 3-replica StatefulSet on raft
// with PVCs and TLS, lifeboat logging in with its pod's service account. The CronJob fires
// on its schedule and backs up to a PVC and MinIO and pushes metrics; the drill CronJob
// restores the backup in its own pod; then the OpenBao StatefulSet and its PVCs are deleted
// and recreated, and the chart's restore Job brings every secret back.
func TestVaultOnKubernetes(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	const (
		ns      = "lb-vault"
		release = "lifeboat"
		bucket  = "vault-backups"
	)
	bao := deployOpenBao(t, c, "openbao", 100)
	secrets := bao.writeSecrets(5)
	bao.enableKubernetesAuth(release, ns, "lb-minimal")

	m := testenv.StartMinIOOn(t, c.HostIP())
	m.MakeBucket(bucket)
	gw := testenv.StartPushgatewayOn(t, c.HostIP())

	namespace(t, c, ns)
	secret(t, c, ns, "openbao-ca", map[string]string{"ca.crt": string(bao.caPEM)})
	secret(t, c, ns, "minio", map[string]string{"access-key-id": m.AccessKey, "secret-access-key": m.SecretKey})
	secret(t, c, ns, "unseal-keys", map[string]string{"unseal-keys": strings.Join(bao.keys, "\n")})
	secret(t, c, ns, "drill-token", map[string]string{"token": bao.rootToken})

	values := map[string]any{
		"mode":        "cronjob",
		"image":       map[string]any{"tag": "dev", "pullPolicy": "Never"},
		"pushgateway": gw.URL,
		"vault": map[string]any{
			"address": bao.addr(0),
			"nodes":   bao.addrs(),
			"tls":     map[string]any{"secretRef": map[string]any{"name": "openbao-ca", "caKey": "ca.crt"}},
			"auth":    map[string]any{"method": "kubernetes", "kubernetes": map[string]any{"role": "lifeboat"}},
			"backup":  map[string]any{"enabled": true, "schedule": "* * * * *"},
			"drill": map[string]any{
				"enabled":             true,
				"unsealKeysSecretRef": map[string]any{"name": "unseal-keys", "key": "unseal-keys"},
				"tokenSecretRef":      map[string]any{"name": "drill-token", "key": "token"},
				"mounts":              []string{"secret/", "kubernetes/"},
				"secrets":             []string{"secret/data/app/0"},
			},
		},
		"destinations": []any{
			map[string]any{"name": "pvc", "type": "file", "persistence": map[string]any{"size": "1Gi"}},
			map[string]any{
				"name": "minio", "type": "s3", "bucket": bucket, "endpoint": m.URL(), "pathStyle": true,
				"region": "us-east-1", "secretRef": map[string]any{"name": "minio"},
			},
		},
	}
	helm(t, c, "install", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))

	// The CronJob fires on its own schedule (every minute here).
	scheduled := waitScheduledJob(t, c, ns, "backup-vault", 4*time.Minute)
	t.Logf("scheduled Job %s succeeded", scheduled)
	// From here on runs are started by the test: stop the schedule, and let a run the
	// controller started meanwhile finish before looking at what is stored.
	values["cronjob"] = map[string]any{"suspend": true}
	helm(t, c, "upgrade", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))
	waitNoActiveJobs(t, c, ns)

	// What the pod really stored: the manifest in MinIO and on the PVC.
	inMinIO := committedBackups(t, m, bucket, "vault")
	if len(inMinIO) == 0 {
		t.Fatalf("no committed vault backup in MinIO bucket %s", bucket)
	}
	onPVC := committedOnPVC(t, c, ns, release+"-dest-pvc", "vault")
	if len(onPVC) == 0 {
		t.Fatal("no committed vault backup on the PVC")
	}
	if !slices.Equal(inMinIO, onPVC) {
		t.Fatalf("MinIO holds %v and the PVC %v: one read should feed both", inMinIO, onPVC)
	}
	if v, ok := gw.Sample("lifeboat_backup_last_success_timestamp_seconds", "source", "vault"); !ok || v < float64(time.Now().Add(-10*time.Minute).Unix()) {
		t.Fatalf("the Pushgateway has no recent lifeboat_backup_last_success_timestamp_seconds for vault (%v, %v):\n%s", v, ok, gw.Metrics())
	}

	t.Run("minimal example", func(t *testing.T) {
		// deploy/examples/lifeboat-minimal.yaml as an operator installs it, with this
		// cluster's addresses: hourly snapshots into one S3 bucket, Kubernetes auth.
		const ns, bucket = "lb-minimal", "minimal"
		m.MakeBucket(bucket)
		namespace(t, c, ns)
		secret(t, c, ns, "lifeboat-s3", map[string]string{"access-key-id": m.AccessKey, "secret-access-key": m.SecretKey})
		secret(t, c, ns, "vault-ca", map[string]string{"ca.crt": string(bao.caPEM)})
		overrides := map[string]any{
			"image": map[string]any{"tag": "dev", "pullPolicy": "Never"},
			"vault": map[string]any{"address": bao.addr(0)},
			"destinations": []any{map[string]any{
				"name": "s3-primary", "type": "s3", "bucket": bucket, "prefix": "prod", "endpoint": m.URL(), "pathStyle": true,
				"region": "us-east-1", "secretRef": map[string]any{"name": "lifeboat-s3"},
				"retention": map[string]any{"keepWithin": "2d", "keepDaily": 30, "keepMonthly": 12},
			}},
		}
		example := filepath.Join(testenv.RepoRoot(), "deploy", "examples", "lifeboat-minimal.yaml")
		helm(t, c, "install", release, chartDir(), "--namespace", ns, "--values", example, "--values", writeValues(t, overrides))
		ok, logs := runJobFromCronJob(t, c, ns, release+"-backup-vault", "minimal-1", 3*time.Minute)
		mustJob(t, ok, logs)
		if got := committedBackups(t, m, bucket, "vault"); len(got) != 1 {
			t.Fatalf("want one committed backup in bucket %s, got %v", bucket, got)
		}
	})

	t.Run("drill", func(t *testing.T) {
		ok, logs := runJobFromCronJob(t, c, ns, release+"-drill-vault", "drill-1", 5*time.Minute)
		mustJob(t, ok, logs)
		if v, ok := gw.Sample("lifeboat_drill_last_success_timestamp_seconds", "source", "vault"); !ok || v == 0 {
			t.Errorf("the drill pushed no lifeboat_drill_last_success_timestamp_seconds:\n%s", gw.Metrics())
		}
	})

	t.Run("recreate cluster and restore", func(t *testing.T) {
		// A backup taken now holds every secret; then the cluster is lost with its volumes.
		ok, logs := runJobFromCronJob(t, c, ns, release+"-backup-vault", "backup-before-loss", 3*time.Minute)
		mustJob(t, ok, logs)
		bao.destroy()
		bao.createStatefulSet()
		// A new, empty cluster: initialised afresh, its own keys and root token.
		original := *bao
		bao.initAndUnseal()
		if err := bao.checkSecrets(0, bao.rootToken, secrets); err == nil {
			t.Fatal("the recreated cluster already has the secrets: the test proves nothing")
		}
		secret(t, c, ns, "restore-token", map[string]string{"token": bao.rootToken})
		values["vault"].(map[string]any)["restore"] = map[string]any{
			"enabled":             true,
			"snapshot":            "latest",
			"force":               true,
			"tokenSecretRef":      map[string]any{"name": "restore-token", "key": "token"},
			"unsealKeysSecretRef": map[string]any{"name": "unseal-keys", "key": "unseal-keys"},
		}
		helm(t, c, "upgrade", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))
		job := restoreJobName(t, c, ns, "restore-vault")
		ok, logs = waitJob(t, c, ns, job, 10*time.Minute)
		mustJob(t, ok, logs)
		// The restored cluster answers to the original keys and root token.
		bao.keys, bao.rootToken = original.keys, original.rootToken
		for i := 0; i < openBaoReplicas; i++ {
			st, err := bao.sealStatus(i)
			if err != nil {
				t.Fatalf("openbao-%d after the restore: %v", i, err)
			}
			if st.Sealed {
				t.Errorf("openbao-%d is sealed after the restore Job", i)
			}
		}
		waitUntil(t, 2*time.Minute, "every secret to read back from the active replica", func() error {
			return bao.checkSecrets(bao.leader(), bao.rootToken, secrets)
		})
	})
}

// destroy deletes the StatefulSet and its PVCs and waits until the pods and volumes are gone.
func (b *openBao) destroy() {
	t, c := b.t, b.c
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Do(ctx, "DELETE", objectPath("StatefulSet", b.ns, "openbao"), nil, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "the OpenBao pods to be gone", func() error {
		var pods podList
		if err := get(c, "/api/v1/namespaces/"+b.ns+"/pods?labelSelector=app=openbao", &pods); err != nil {
			return err
		}
		if len(pods.Items) > 0 {
			return fmt.Errorf("%d pods left", len(pods.Items))
		}
		return nil
	})
	if _, err := c.Do(ctx, "DELETE", objectPath("PersistentVolumeClaim", b.ns, ""), nil, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "the OpenBao volumes to be deleted", func() error {
		var pvs struct {
			Items []struct {
				Spec struct{ ClaimRef struct{ Namespace string } }
			}
		}
		if err := get(c, "/api/v1/persistentvolumes", &pvs); err != nil {
			return err
		}
		for _, pv := range pvs.Items {
			if pv.Spec.ClaimRef.Namespace == b.ns {
				return fmt.Errorf("a volume of %s is still there", b.ns)
			}
		}
		return nil
	})
}

// leader is the replica that is the raft leader.
func (b *openBao) leader() int {
	for i := 0; i < openBaoReplicas; i++ {
		resp, err := b.client(i, "").Sys().Leader()
		if err == nil && resp.IsSelf {
			return i
		}
	}
	return 0
}

// restoreJobName finds the chart's restore Job of a component (its name carries a hash of
// what it restores).
func restoreJobName(t *testing.T, c *testenv.Cluster, ns, component string) string {
	t.Helper()
	var name string
	waitUntil(t, time.Minute, "the "+component+" Job", func() error {
		var jobs struct {
			Items []struct {
				Metadata struct {
					Name   string
					Labels map[string]string
				}
			}
		}
		if err := get(c, objectPath("Job", ns, "")+"?labelSelector=app.kubernetes.io/component%3D"+component, &jobs); err != nil {
			return err
		}
		if len(jobs.Items) != 1 {
			return fmt.Errorf("%d Jobs", len(jobs.Items))
		}
		name = jobs.Items[0].Metadata.Name
		return nil
	})
	return name
}

func minioListOptions(prefix string) minio.ListObjectsOptions {
	return minio.ListObjectsOptions{Prefix: prefix, Recursive: true}
}

// committedBackups lists the backup ids of source with a manifest in the bucket, newest first.
func committedBackups(t *testing.T, m *testenv.MinIO, bucket, source string) []string {
	t.Helper()
	var ids []string
	for obj := range m.Client().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		parts := strings.Split(obj.Key, "/")
		if len(parts) >= 3 && parts[len(parts)-1] == "manifest.json" && parts[len(parts)-3] == source {
			ids = append(ids, parts[len(parts)-2])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	return ids
}

// pvcPath is where the claim's volume is on the node (the hostPath provisioner's).
func pvcPath(t *testing.T, c *testenv.Cluster, ns, claim string) string {
	t.Helper()
	var pvc struct {
		Spec struct{ VolumeName string }
	}
	c.MustDo("GET", objectPath("PersistentVolumeClaim", ns, claim), nil, &pvc)
	var pv struct {
		Spec struct {
			HostPath struct{ Path string }
		}
	}
	c.MustDo("GET", "/api/v1/persistentvolumes/"+pvc.Spec.VolumeName, nil, &pv)
	return pv.Spec.HostPath.Path
}

// committedOnPVC reads the PVC's volume on the node and lists source's committed backups,
// newest first, checking each manifest parses.
func committedOnPVC(t *testing.T, c *testenv.Cluster, ns, claim, source string) []string {
	t.Helper()
	dir := pvcPath(t, c, ns, claim)
	matches, _ := filepath.Glob(filepath.Join(dir, "*", source, "*", "manifest.json"))
	more, _ := filepath.Glob(filepath.Join(dir, source, "*", "manifest.json"))
	var ids []string
	for _, mf := range append(matches, more...) {
		data, err := os.ReadFile(mf)
		if err != nil {
			t.Fatal(err)
		}
		var manifest map[string]any
		if err := json.Unmarshal(data, &manifest); err != nil {
			t.Fatalf("manifest %s on the PVC does not parse: %v", mf, err)
		}
		ids = append(ids, filepath.Base(filepath.Dir(mf)))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	return ids
}
