package kube

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	vaultapi "github.com/hashicorp/vault/api"
	"sigs.k8s.io/yaml"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// deploy/examples/lifeboat-full.yaml and lifeboat-restore.yaml installed as the admin
// guide says, with only what differs in this cluster overridden (addresses, buckets, the
// age recipient whose identity the test holds, no TLS on the test PostgreSQL, no
// prometheus-operator): AppRole login, two S3 buckets and a PVC, age encryption, drills,
// the NetworkPolicy and auto-restore objects. Backups of both sources land encrypted in
// every destination, both drills pass; then the Vault cluster is lost and re-initialised
// and the database dropped, and the restore overlay brings both back, with every CronJob
// suspended while it runs.
func TestFullExampleOnKubernetes(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	const (
		ns      = "lifeboat"
		release = "lifeboat"
	)
	bao := deployOpenBao(t, c, "vault", 120)
	secrets := bao.writeSecrets(4)
	root := bao.client(0, bao.rootToken)
	if err := root.Sys().EnableAuthWithOptions("approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/approle/role/lifeboat", map[string]any{"token_policies": "snapshot", "token_ttl": "10m"}); err != nil {
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

	pg := testenv.StartPostgresOn(t, c.HostIP())
	pg.CreateArgo("argo", 103, 600)
	want := pg.Fingerprint("argo")
	conn := pg.Connect("postgres")
	ctx := context.Background()
	// The example's backup role as docs/security.md sets it up, with CREATEDB because the
	// example's drill uses the same role for its scratch database.
	for _, q := range []string{"CREATE ROLE lifeboat LOGIN CREATEDB PASSWORD 'lifeboat-read-only'", "GRANT pg_read_all_data TO lifeboat"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	m := testenv.StartMinIOOn(t, c.HostIP())
	m.MakeBucket("primary")
	m.MakeBucket("offsite")
	gw := testenv.StartPushgatewayOn(t, c.HostIP())
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}

	namespace(t, c, ns)
	namespace(t, c, "vault-recovery")
	namespace(t, c, "argo")
	for _, name := range []string{"workflow-controller", "argo-server"} {
		sleeper(t, c, "argo", name, 1)
	}
	s3 := map[string]string{"access-key-id": m.AccessKey, "secret-access-key": m.SecretKey}
	signingSecret, signingPub := signingKey(t)
	secret(t, c, ns, "lifeboat-signing", signingSecret)
	for _, n := range []string{ns, bao.ns} {
		secret(t, c, n, "lifeboat-s3-primary", s3)
		secret(t, c, n, "lifeboat-s3-offsite", s3)
		secret(t, c, n, "lifeboat-age", map[string]string{"identity": identity.String()})
	}
	secret(t, c, ns, "vault-ca", map[string]string{"ca.crt": string(bao.caPEM)})
	// vault-values.yaml's Secret of the server certificate; its sidecar reads the CA.
	secret(t, c, bao.ns, "vault-tls", map[string]string{"ca.crt": string(bao.caPEM)})
	secret(t, c, ns, "lifeboat-vault-approle", map[string]string{"role-id": roleID.Data["role_id"].(string), "secret-id": secretID.Data["secret_id"].(string)})
	secret(t, c, ns, "lifeboat-postgres", map[string]string{"password": "lifeboat-read-only"})
	secret(t, c, ns, "postgres-ca", map[string]string{"ca.crt": string(bao.caPEM)}) // unused: sslMode is overridden
	secret(t, c, ns, "vault-unseal-keys", map[string]string{"unseal-keys": strings.Join(bao.keys, "\n")})
	secret(t, c, "vault-recovery", "vault-unseal-keys", map[string]string{"unseal-keys": strings.Join(bao.keys, "\n")})
	secret(t, c, ns, "vault-drill", map[string]string{"token": bao.rootToken})

	overrides := map[string]any{
		"image":       map[string]any{"tag": "dev", "pullPolicy": "Never"},
		"pushgateway": gw.URL,
		"vault": map[string]any{
			"address": bao.addr(0),
			"nodes":   bao.addrs(),
		},
		"workflows": map[string]any{"metadataDatabase": map[string]any{
			"host": c.HostIP(), "port": pg.Port,
			// The test server has no TLS.
			"sslMode": "disable", "caSecretRef": map[string]any{"name": ""},
		}},
		"destinations": []any{
			map[string]any{
				"name": "s3-primary", "type": "s3", "bucket": "primary", "prefix": "prod", "endpoint": m.URL(), "pathStyle": true,
				"region": "us-east-1", "secretRef": map[string]any{"name": "lifeboat-s3-primary"},
				"retention": map[string]any{"keepLast": 48, "keepWithin": "7d", "keepDaily": 14},
			},
			map[string]any{
				"name": "s3-offsite", "type": "s3", "bucket": "offsite", "prefix": "prod", "endpoint": m.URL(), "pathStyle": true,
				"region": "us-east-1", "secretRef": map[string]any{"name": "lifeboat-s3-offsite", "accessKeyIDKey": "access-key-id", "secretAccessKeyKey": "secret-access-key"},
				"retention": map[string]any{"keepDaily": 30, "keepWeekly": 12, "keepMonthly": 24},
			},
			map[string]any{"name": "pvc", "type": "file", "persistence": map[string]any{"size": "1Gi"}, "retention": map[string]any{"keepLast": 24}},
		},
		"encryption": map[string]any{"age": map[string]any{"recipients": []string{identity.Recipient().String()}}},
		"metrics":    map[string]any{"prometheusRule": map[string]any{"enabled": false}},
		"signing":    map[string]any{"publicKeys": []string{signingPub}},
	}
	examples := filepath.Join(testenv.RepoRoot(), "deploy", "examples")
	full := []string{"--values", filepath.Join(examples, "lifeboat-full.yaml"), "--values", writeValues(t, overrides)}
	helm(t, c, append([]string{"install", release, chartDir(), "--namespace", ns}, full...)...)

	ok, logs := runJobFromCronJob(t, c, ns, release+"-backup-vault", "vault-1", 4*time.Minute)
	mustJob(t, ok, logs)
	vaultID := backupID(t, logs, "vault")
	ok, logs = runJobFromCronJob(t, c, ns, release+"-backup-workflows", "workflows-1", 4*time.Minute)
	mustJob(t, ok, logs)
	dumpID := backupID(t, logs, "workflows")
	// The example's hourly schedules may add runs of their own; the test's are the ones
	// it looks at, and every stored copy must be encrypted.
	for _, bucket := range []string{"primary", "offsite"} {
		for _, id := range []string{vaultID, dumpID} {
			if !encrypted(t, m, bucket, id) {
				t.Fatalf("bucket %s: backup %s is missing or unencrypted; the example encrypts with age", bucket, id)
			}
		}
	}
	if got := committedOnPVC(t, c, ns, release+"-dest-pvc", "vault"); !slices.Contains(got, vaultID) {
		t.Fatalf("the PVC should hold vault backup %s, has %v", vaultID, got)
	}
	// The example's pvc destination has no prefix.
	if data, _ := filepath.Glob(filepath.Join(pvcPath(t, c, ns, release+"-dest-pvc"), "vault", vaultID, "data.*")); len(data) != 1 || !strings.HasSuffix(data[0], ".age") {
		t.Fatalf("the PVC's copy of %s is not encrypted: %v", vaultID, data)
	}
	for _, source := range []string{"vault", "workflows"} {
		if v, ok := gw.Sample("lifeboat_backup_last_success_timestamp_seconds", "source", source); !ok || v == 0 {
			t.Errorf("the Pushgateway has no last-success time for %s", source)
		}
	}
	for _, source := range []string{"vault", "workflows"} {
		ok, logs := runJobFromCronJob(t, c, ns, release+"-drill-"+source, "drill-"+source, 5*time.Minute)
		mustJob(t, ok, logs)
	}

	// Both are lost: the Vault cluster with its volumes (re-installed empty), the database.
	original := *bao
	bao.destroy()
	bao.createStatefulSet()
	bao.initAndUnseal()
	if _, err := conn.Exec(ctx, "DROP DATABASE argo WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE argo"); err != nil {
		t.Fatal(err)
	}
	var cronJobs struct {
		Items []struct {
			Metadata struct{ Name string }
			Spec     struct{ Suspend bool }
		}
	}
	c.MustDo("GET", objectPath("CronJob", ns, ""), nil, &cronJobs)
	for _, cj := range cronJobs.Items {
		if cj.Spec.Suspend {
			t.Fatalf("CronJob %s is suspended before the restore overlay: the check below would prove nothing", cj.Metadata.Name)
		}
	}
	generation := deploymentGeneration(t, c, "argo", "workflow-controller")
	secret(t, c, ns, "vault-restore", map[string]string{"token": bao.rootToken})
	secret(t, c, ns, "argo-postgres-owner", map[string]string{"password": pg.Password})
	restoreOverrides := map[string]any{
		"vault": map[string]any{"restore": map[string]any{"snapshot": vaultID}},
		"workflows": map[string]any{"metadataDatabase": map[string]any{"restore": map[string]any{
			"dump":      dumpID,
			"targetDSN": fmt.Sprintf("host=%s port=%d dbname=argo user=%s sslmode=disable", c.HostIP(), pg.Port, pg.User),
		}}},
	}
	helm(t, c, append(append([]string{"upgrade", release, chartDir(), "--namespace", ns}, full...),
		"--values", filepath.Join(examples, "lifeboat-restore.yaml"), "--values", writeValues(t, restoreOverrides))...)
	c.MustDo("GET", objectPath("CronJob", ns, ""), nil, &cronJobs)
	for _, cj := range cronJobs.Items {
		if !cj.Spec.Suspend {
			t.Errorf("CronJob %s is not suspended while the restore overlay is on", cj.Metadata.Name)
		}
	}
	ok, logs = waitJob(t, c, ns, restoreJobName(t, c, ns, "restore-vault"), 10*time.Minute)
	mustJob(t, ok, logs)
	ok, logs = waitJob(t, c, ns, restoreJobName(t, c, ns, "restore-workflows"), 10*time.Minute)
	mustJob(t, ok, logs)
	waitUntil(t, 2*time.Minute, "every secret to read back with the original root token", func() error {
		return bao.checkSecrets(bao.leader(), original.rootToken, secrets)
	})
	if got := pg.Fingerprint("argo"); !maps.Equal(got, want) {
		t.Fatalf("restored database differs:\n got %v\nwant %v", got, want)
	}
	waitReplicas(t, c, "argo", "workflow-controller", 1)
	waitReplicas(t, c, "argo", "argo-server", 1)
	if got := deploymentGeneration(t, c, "argo", "workflow-controller"); got < generation+2 {
		t.Errorf("workflow-controller's generation went from %d to %d: the restore did not scale it down and back", generation, got)
	}
	// Back to the everyday values, as the overlay's header says.
	helm(t, c, append([]string{"upgrade", release, chartDir(), "--namespace", ns}, full...)...)

	// The cluster is wiped again, and this time nobody initialises it: the auto-restore
	// sidecar of vault-values.yaml, as written there, restores the newest backup into
	// replica 0 and unseals it with the original keys (read from vault-recovery as the
	// chart's own lifeboat-auto-restore service account, whose token Secret only the
	// sidecar mounts, through the Role the chart's vault.autoRestore renders).
	bao.destroy()
	sidecar, volumes := autoRestoreSidecar(t)
	bao.sidecars, bao.volumes = []any{sidecar}, volumes
	bao.createStatefulSet()
	waitUntil(t, 6*time.Minute, "openbao-0 to be restored and unsealed by the sidecar", func() error {
		st, err := bao.sealStatus(0)
		if err != nil {
			return err
		}
		if !st.Initialized || st.Sealed {
			return fmt.Errorf("initialized=%v sealed=%v\n%s", st.Initialized, st.Sealed, podsLog(c, bao.ns, "statefulset.kubernetes.io/pod-name%3Dopenbao-0"))
		}
		return bao.checkSecrets(0, original.rootToken, secrets)
	})
	// The other replicas rejoin and wait for the original keys (docs/vault-backup-restore.md).
	bao.keys, bao.rootToken = original.keys, original.rootToken
	bao.unsealAll()
}

// autoRestoreSidecar is the auto-restore container of deploy/examples/vault-values.yaml
// (server.extraInitContainers) and the volumes it mounts (server.volumes), exactly as
// written there except for the image, which is this checkout's.
func autoRestoreSidecar(t *testing.T) (sidecar map[string]any, volumes []any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy", "examples", "vault-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Server struct {
			ExtraInitContainers []map[string]any `json:"extraInitContainers"`
			Volumes             []map[string]any `json:"volumes"`
		} `json:"server"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	if len(values.Server.ExtraInitContainers) != 1 {
		t.Fatalf("vault-values.yaml has %d extraInitContainers, want the auto-restore one", len(values.Server.ExtraInitContainers))
	}
	sidecar = values.Server.ExtraInitContainers[0]
	sidecar["image"], sidecar["imagePullPolicy"] = lifeboatImage, "Never"
	mounted := map[string]bool{}
	for _, m := range sidecar["volumeMounts"].([]any) {
		mounted[m.(map[string]any)["name"].(string)] = true
	}
	for _, v := range values.Server.Volumes {
		if mounted[v["name"].(string)] {
			volumes = append(volumes, v)
		}
	}
	if len(volumes) != len(mounted) {
		t.Fatalf("vault-values.yaml's sidecar mounts %d volumes, server.volumes defines %d of them", len(mounted), len(volumes))
	}
	return sidecar, volumes
}

// sleeper is a Deployment that stands in for an Argo component the restore scales down.
func sleeper(t *testing.T, c *testenv.Cluster, ns, name string, replicas int) {
	t.Helper()
	create(t, c, map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]string{"app": name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]string{"app": name}},
				"spec": map[string]any{
					"terminationGracePeriodSeconds": 1,
					"containers": []any{map[string]any{
						"name": "main", "image": lifeboatImage, "imagePullPolicy": "Never",
						"command": []string{"/bin/sleep", "infinity"},
					}},
				},
			},
		},
	})
	waitReplicas(t, c, ns, name, replicas)
}

// encrypted reports whether backup id's data object in the bucket is an age file.
func encrypted(t *testing.T, m *testenv.MinIO, bucket, id string) bool {
	t.Helper()
	source, _, _ := strings.Cut(id, "-")
	for obj := range m.Client().ListObjects(context.Background(), bucket, minioListOptions("prod/"+source+"/"+id+"/")) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if strings.Contains(obj.Key, "/data.") {
			return strings.HasSuffix(obj.Key, ".age")
		}
	}
	t.Fatalf("no data object for %s in %s", id, bucket)
	return false
}

// backupID is the id of the backup a run's log reports.
func backupID(t *testing.T, logs, source string) string {
	t.Helper()
	id := regexp.MustCompile(regexp.QuoteMeta(source) + `-\d{8}T\d{6}Z-[0-9a-f]{4}`).FindString(logs)
	if id == "" {
		t.Fatalf("the run's log names no %s backup id:\n%s", source, logs)
	}
	return id
}
