package kube

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// The chart's workflow-database flows with real pods against a PostgreSQL outside the
// cluster (the admin guide's "external database"): a backup Job made from the CronJob
// writes to a PVC and MinIO; after the database is dropped, the restore Job scales the
// Argo-like Deployment to 0, restores, and scales it back; the drill CronJob passes.
func TestWorkflowsOnKubernetes(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	const (
		ns      = "lb-workflows"
		argoNS  = "argo-wf" // the full-example test has "argo"
		release = "lifeboat"
		bucket  = "workflow-backups"
		db      = "argo"
	)
	pg := testenv.StartPostgresOn(t, c.HostIP())
	pg.CreateArgo(db, 103, 1200)
	want := pg.Fingerprint(db)
	m := testenv.StartMinIOOn(t, c.HostIP())
	m.MakeBucket(bucket)

	namespace(t, c, argoNS)
	sleeper(t, c, argoNS, "workflow-controller", 2)

	namespace(t, c, ns)
	secret(t, c, ns, "argo-db", map[string]string{"password": pg.Password})
	secret(t, c, ns, "minio", map[string]string{"access-key-id": m.AccessKey, "secret-access-key": m.SecretKey})
	workflows := map[string]any{
		"host": c.HostIP(), "port": pg.Port, "database": db, "user": pg.User,
		"passwordSecretRef": map[string]any{"name": "argo-db", "key": "password"},
		// The test server has no TLS; the chart's default is require.
		"sslMode": "disable",
		"backup":  map[string]any{"enabled": true},
		"drill":   map[string]any{"enabled": true},
	}
	values := map[string]any{
		"mode":  "cronjob",
		"image": map[string]any{"tag": "dev", "pullPolicy": "Never"},
		// Runs are started by the test; the default schedule must not add one.
		"cronjob":   map[string]any{"suspend": true},
		"vault":     map[string]any{"backup": map[string]any{"enabled": false}},
		"workflows": map[string]any{"metadataDatabase": workflows},
		"destinations": []any{
			map[string]any{"name": "pvc", "type": "file", "persistence": map[string]any{"size": "1Gi"}},
			map[string]any{
				"name": "minio", "type": "s3", "bucket": bucket, "endpoint": m.URL(), "pathStyle": true,
				"region": "us-east-1", "secretRef": map[string]any{"name": "minio"},
			},
		},
	}
	helm(t, c, "install", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))

	ok, logs := runJobFromCronJob(t, c, ns, release+"-backup-workflows", "backup-1", 5*time.Minute)
	mustJob(t, ok, logs)
	inMinIO := committedBackups(t, m, bucket, "workflows")
	onPVC := committedOnPVC(t, c, ns, release+"-dest-pvc", "workflows")
	if len(inMinIO) != 1 || len(onPVC) != 1 || inMinIO[0] != onPVC[0] {
		t.Fatalf("want the one backup in MinIO and on the PVC, got %v and %v", inMinIO, onPVC)
	}

	t.Run("drill", func(t *testing.T) {
		ok, logs := runJobFromCronJob(t, c, ns, release+"-drill-workflows", "drill-1", 5*time.Minute)
		mustJob(t, ok, logs)
	})

	t.Run("a destination whose Secret is missing", func(t *testing.T) {
		// The Secret was never created (a typo, a namespace mix-up): the pod must still
		// start, and the run must write to the other destinations and fail loudly.
		dests := values["destinations"].([]any)
		values["destinations"] = append(dests, map[string]any{
			"name": "offsite", "type": "s3", "bucket": bucket, "endpoint": m.URL(), "pathStyle": true,
			"region": "us-east-1", "secretRef": map[string]any{"name": "offsite-credentials"},
		})
		helm(t, c, "upgrade", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))
		values["destinations"] = dests
		defer helm(t, c, "upgrade", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))
		ok, logs := runJobFromCronJob(t, c, ns, release+"-backup-workflows", "backup-missing-secret", 5*time.Minute)
		if ok {
			t.Fatalf("a run with a failing destination succeeded; it must exit 2:\n%s", logs)
		}
		for _, code := range jobExitCodes(t, c, ns, "backup-missing-secret") {
			if code != 2 {
				t.Errorf("a run with one failing destination exited %d; lifeboat promises 2 (partial)", code)
			}
		}
		if !strings.Contains(logs, "offsite") {
			t.Errorf("the failing run's log does not name the destination:\n%s", logs)
		}
		if got := committedBackups(t, m, bucket, "workflows"); len(got) < 2 {
			t.Fatalf("MinIO did not get a backup from the run with a missing Secret elsewhere: %v\n%s", got, logs)
		}
		if got := committedOnPVC(t, c, ns, release+"-dest-pvc", "workflows"); len(got) < 2 {
			t.Fatalf("the PVC did not get a backup from the run with a missing Secret elsewhere: %v", got)
		}
	})

	t.Run("drop and restore with scale-down", func(t *testing.T) {
		conn := pg.Connect("postgres")
		ctx := context.Background()
		if _, err := conn.Exec(ctx, "DROP DATABASE "+db+" WITH (FORCE)"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
		workflows["restore"] = map[string]any{
			"enabled":   true,
			"dump":      "latest",
			"scaleDown": []any{map[string]any{"namespace": argoNS, "name": "workflow-controller"}},
		}
		generation := deploymentGeneration(t, c, argoNS, "workflow-controller")
		helm(t, c, "upgrade", release, chartDir(), "--namespace", ns, "--values", writeValues(t, values))
		job := restoreJobName(t, c, ns, "restore-workflows")
		ok, logs := waitJob(t, c, ns, job, 10*time.Minute)
		mustJob(t, ok, logs)
		if got := pg.Fingerprint(db); !maps.Equal(got, want) {
			t.Fatalf("restored database differs:\n got %v\nwant %v", got, want)
		}
		waitReplicas(t, c, argoNS, "workflow-controller", 2)
		if got := deploymentGeneration(t, c, argoNS, "workflow-controller"); got < generation+2 {
			t.Errorf("the Deployment's generation went from %d to %d: the restore did not scale it down and back", generation, got)
		}
	})
}

// deploymentGeneration is the Deployment's metadata.generation: each change of its spec,
// a scale to 0 and back included, raises it.
func deploymentGeneration(t *testing.T, c *testenv.Cluster, ns, name string) int {
	t.Helper()
	var d struct{ Metadata struct{ Generation int } }
	c.MustDo(http.MethodGet, objectPath("Deployment", ns, name), nil, &d)
	return d.Metadata.Generation
}

// waitReplicas waits until the Deployment wants and has n ready replicas.
func waitReplicas(t *testing.T, c *testenv.Cluster, ns, name string, n int) {
	t.Helper()
	waitUntil(t, 3*time.Minute, fmt.Sprintf("deployment %s/%s to have %d ready replicas", ns, name, n), func() error {
		var d struct {
			Spec   struct{ Replicas int }
			Status struct{ ReadyReplicas int }
		}
		if err := get(c, objectPath("Deployment", ns, name), &d); err != nil {
			return err
		}
		if d.Spec.Replicas != n || d.Status.ReadyReplicas != n {
			return fmt.Errorf("spec %d, ready %d", d.Spec.Replicas, d.Status.ReadyReplicas)
		}
		return nil
	})
}
