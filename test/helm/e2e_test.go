package helm

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/minio-go/v7"
	corev1 "k8s.io/api/core/v1"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

var (
	buildOnce   sync.Once
	lifeboatBin string
	buildErr    error
)

// builtLifeboat builds cmd/lifeboat once per test binary, as the image's Dockerfile does.
func builtLifeboat(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lifeboat-helm-bin-")
		if err != nil {
			buildErr = err
			return
		}
		lifeboatBin = filepath.Join(dir, "lifeboat")
		cmd := exec.Command("go", "build", "-o", lifeboatBin, "./cmd/lifeboat")
		cmd.Dir = testenv.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build lifeboat: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return lifeboatBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if lifeboatBin != "" {
		_ = os.RemoveAll(filepath.Dir(lifeboatBin))
	}
	os.Exit(code)
}

// The chart's CronJobs and restore Jobs, run the way a kubelet would run them — their
// command, args and env, with their ConfigMap, Secrets and PVCs "mounted" into directories
// that stand in for the containers' filesystems — against a real OpenBao, MinIO and
// PostgreSQL. Each backup must exit 0 and be committed in every destination the chart
// configured; then the restore Jobs, enabled with those backup ids, must bring back what
// was deleted after the backups.
func TestCronJobsRunAgainstRealServers(t *testing.T) {
	helmBin(t)
	bin := builtLifeboat(t)
	bao := testenv.StartVault(t, testenv.OpenBao)
	minioSrv := testenv.StartMinIO(t)
	minioSrv.MakeBucket("lifeboat-e2e")
	pg := testenv.StartPostgres(t)
	pg.CreateDatabase("argo")
	ctx := context.Background()
	conn := pg.Connect("argo")
	if _, err := conn.Exec(ctx, `CREATE TABLE argo_workflows (uid text PRIMARY KEY, workflow json);
		INSERT INTO argo_workflows SELECT 'wf-' || i, '{"phase":"Succeeded"}' FROM generate_series(1, 100) i`); err != nil {
		t.Fatal(err)
	}
	vc := bao.Client()
	// KV version 1: a fresh version 2 mount answers writes with an "upgrading" error for a
	// moment, which is not what this test is about.
	if err := vc.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.Logical().WriteWithContext(ctx, "secret/app/db", map[string]any{"password": "s3cr3t"}); err != nil {
		t.Fatal(err)
	}
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	signingPub, signingKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signingPEM, err := catalog.PrivateKeyPEM(signingKey)
	if err != nil {
		t.Fatal(err)
	}

	// Values an operator would write for these servers, and the Secrets they would create.
	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	writeValues(t, values, `
vault:
  address: %s
  auth:
    method: token
    token: {secretRef: {name: lifeboat-vault-token, key: token}}
  backup: {enabled: true, schedule: "0 * * * *"}
workflows:
  metadataDatabase:
    host: %s
    port: %d
    database: argo
    user: %s
    passwordSecretRef: {name: lifeboat-postgres, key: password}
    sslMode: disable
    # The chart's default is the image's PGDG client; this machine has Debian's.
    binDir: %s
    backup: {enabled: true, schedule: "30 */6 * * *", destinations: [minio]}
destinations:
  - name: minio
    type: s3
    bucket: lifeboat-e2e
    prefix: cluster
    endpoint: %s
    pathStyle: true
    partSizeMiB: 5
    secretRef: {name: lifeboat-minio}
    retention: {keepLast: 3}
  - name: pvc
    type: file
    persistence: {size: 1Gi}
    retention: {keepLast: 2}
encryption:
  age:
    recipients: [%s]
signing:
  privateKeySecretRef: {name: lifeboat-signing}
  publicKeys: [%q]
`, bao.Addr(), pg.Host, pg.Port, pg.User, pg.BinDir, minioSrv.URL(), identity.Recipient(), catalog.FormatPublicKey(signingPub))
	secrets := map[string]map[string]string{
		"lifeboat-vault-token": {"token": bao.RootToken},
		"lifeboat-minio":       {"access-key-id": minioSrv.AccessKey, "secret-access-key": minioSrv.SecretKey},
		"lifeboat-postgres":    {"password": pg.Password},
		// Created only for the restore (docs/admin-guide.md, section 7).
		"vault-restore": {"token": bao.RootToken},
		"lifeboat-age":  {"identity": identity.String()},
		// The signing key: mounted by the chart into the backup CronJobs only.
		"lifeboat-signing": {"private.pem": string(signingPEM)},
	}
	claims := map[string]string{} // PVC name -> the directory standing in for the volume
	objs := parseObjects(t, render(t, []string{values}))

	backups := map[string]string{}
	for _, c := range []struct {
		component, source string
		destinations      []string
	}{
		{"backup-vault", "vault", []string{"minio", "pvc"}},
		{"backup-workflows", "workflows", []string{"minio"}},
	} {
		t.Run(c.source, func(t *testing.T) {
			fs := newPodFS(t, objs, podOf(t, objs, "CronJob/", c.component), secrets, claims)
			res := fs.run(t, bin, 5*time.Minute)
			if res.code != 0 {
				t.Fatalf("the %s CronJob's command failed: %s", c.component, res)
			}
			ids := map[string]string{}
			ids["minio"] = committedInMinIO(t, minioSrv, "lifeboat-e2e", "cluster/"+c.source+"/")
			if slices.Contains(c.destinations, "pvc") {
				dir := fs.hostPath("/var/lib/lifeboat/destinations/pvc")
				ids["pvc"] = committedInDir(t, dir, c.source)
				// encryption.age from the values reached the run.
				if data, _ := filepath.Glob(filepath.Join(dir, c.source, ids["pvc"], "data.*")); len(data) != 1 || !strings.HasSuffix(data[0], ".age") {
					t.Errorf("want one age-encrypted data object, got %v", data)
				}
			}
			for dest, id := range ids {
				if !strings.HasPrefix(id, c.source+"-") {
					t.Errorf("destination %s: committed backup id %q is not a %s backup", dest, id, c.source)
				}
				if id != ids["minio"] {
					t.Errorf("destination %s holds %s, minio %s: one run must commit the same backup everywhere", dest, id, ids["minio"])
				}
			}
			// signing from the values reached the run: the manifest is signed by the key.
			m := manifestInMinIO(t, minioSrv, "lifeboat-e2e", "cluster/"+c.source+"/"+ids["minio"]+"/manifest.json")
			if m.Signature == nil || m.Signature.Key != catalog.Fingerprint(signingPub) {
				t.Errorf("the %s manifest is not signed by the configured key: %+v", c.source, m.Signature)
			}
			backups[c.source] = ids["minio"]
			t.Logf("%s: backup %s committed to %v", c.component, ids["minio"], c.destinations)
		})
	}
	if t.Failed() {
		return
	}

	// Lose data, then restore it with the chart's restore Jobs, enabled with the backup ids
	// as the admin guide says.
	if _, err := vc.Logical().DeleteWithContext(ctx, "secret/app/db"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM argo_workflows WHERE uid <> 'wf-1'`); err != nil {
		t.Fatal(err)
	}
	backupObjs := objs
	restoreValues := filepath.Join(dir, "restore.yaml")
	writeValues(t, restoreValues, `
vault:
  restore:
    enabled: true
    snapshot: %s
    tokenSecretRef: {name: vault-restore, key: token}
workflows:
  metadataDatabase:
    restore: {enabled: true, dump: %s}
encryption:
  age:
    identitySecretRef: {name: lifeboat-age, key: identity}
`, backups["vault"], backups["workflows"])
	objs = parseObjects(t, render(t, []string{values, restoreValues}))
	for _, component := range []string{"restore-vault", "restore-workflows"} {
		t.Run(component, func(t *testing.T) {
			pod := podOf(t, objs, "Job/", component)
			for _, v := range pod.Spec.Volumes {
				if v.Secret != nil && v.Secret.SecretName == "lifeboat-signing" {
					t.Fatalf("the %s Job mounts the signing key", component)
				}
			}
			// The restore checks the signature with the public key alone.
			fs := newPodFS(t, objs, pod, secrets, claims)
			if res := fs.run(t, bin, 5*time.Minute); res.code != 0 {
				t.Fatalf("the %s Job's command failed: %s", component, res)
			}
		})
	}
	bao.WaitActive(bao.Nodes[0])
	got, err := bao.Client().Logical().ReadWithContext(ctx, "secret/app/db")
	if err != nil || got == nil || got.Data["password"] != "s3cr3t" {
		t.Errorf("after the Vault restore Job: secret/app/db = %v, %v; want it back", got, err)
	}
	var rows int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM argo_workflows`).Scan(&rows); err != nil || rows != 100 {
		t.Errorf("after the metadata DB restore Job: %d workflows (%v), want 100", rows, err)
	}

	// A destination whose Secret does not exist (a fresh cluster, a typo) does not keep
	// the pod from starting: the chart mounts destination Secrets as optional, lifeboat
	// backs up to the other destinations and fails the run (exit 2) naming the one it
	// could not open.
	t.Run("missing destination Secret", func(t *testing.T) {
		without := map[string]map[string]string{}
		for name, keys := range secrets {
			if name != "lifeboat-minio" {
				without[name] = keys
			}
		}
		// A fresh volume for the pvc destination (the earlier subtests' are gone with them).
		fs := newPodFS(t, backupObjs, podOf(t, backupObjs, "CronJob/", "backup-vault"), without, map[string]string{})
		res := fs.run(t, bin, 5*time.Minute)
		if res.code != 2 || !strings.Contains(res.stderr, "destination minio") || !strings.Contains(res.stderr, "access-key-id") {
			t.Fatalf("backup with the minio Secret missing: want exit 2 naming destination minio and its missing key file: %s", res.String())
		}
		committedInDir(t, fs.hostPath("/var/lib/lifeboat/destinations/pvc"), "vault")
	})
}

func writeValues(t *testing.T, path, format string, args ...any) {
	t.Helper()
	if err := os.WriteFile(path, fmt.Appendf(nil, format, args...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// podOf returns the pod template of the CronJob or Job ("CronJob/", "Job/") of a component.
func podOf(t *testing.T, objs []object, kind, component string) *corev1.PodTemplateSpec {
	t.Helper()
	for name, pod := range podTemplates(objs) {
		if strings.HasPrefix(name, kind) && pod.Labels["app.kubernetes.io/component"] == component {
			return pod
		}
	}
	t.Fatalf("no %s for %s rendered", strings.TrimSuffix(kind, "/"), component)
	return nil
}

// podFS is a directory standing in for a container's filesystem: every volumeMount of the
// pod is a directory under root, filled the way the kubelet fills it.
type podFS struct {
	root   string
	pod    *corev1.PodTemplateSpec
	mounts []string // container mount paths, longest first
}

// Secrets are the operator's (name -> key -> value); claims maps a PVC to the directory
// that stands in for its volume, shared by every pod that mounts it.
func newPodFS(t *testing.T, objs []object, pod *corev1.PodTemplateSpec, secrets map[string]map[string]string, claims map[string]string) *podFS {
	t.Helper()
	fs := &podFS{root: t.TempDir(), pod: pod}
	c := pod.Spec.Containers[0]
	for _, m := range c.VolumeMounts {
		fs.mounts = append(fs.mounts, m.MountPath)
	}
	slices.SortFunc(fs.mounts, func(a, b string) int { return len(b) - len(a) })
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		dir := fs.hostPath(m.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		v, ok := volumes[m.Name]
		if ok && v.PersistentVolumeClaim != nil {
			// The volume outlives the pod: the same directory for every pod.
			claim := v.PersistentVolumeClaim.ClaimName
			if claims[claim] == "" {
				claims[claim] = t.TempDir()
			}
			if err := os.Remove(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(claims[claim], dir); err != nil {
				t.Fatal(err)
			}
		}
		switch {
		case !ok:
			t.Fatalf("volumeMount %s has no volume", m.Name)
		case v.ConfigMap != nil:
			data := configMapData(t, objs, v.ConfigMap.Name)
			for key, value := range data {
				// The config names files by their paths in the container.
				fs.write(t, filepath.Join(dir, key), fs.rewrite(value))
			}
		case v.Secret != nil:
			optional := v.Secret.Optional != nil && *v.Secret.Optional
			s, ok := secrets[v.Secret.SecretName]
			if !ok && !optional {
				t.Fatalf("the pod mounts Secret %s, which the operator was not told to create", v.Secret.SecretName)
			}
			for _, item := range v.Secret.Items {
				value, ok := s[item.Key]
				switch {
				case ok:
					fs.write(t, filepath.Join(dir, item.Path), value)
				case !optional:
					t.Fatalf("the pod mounts key %s of Secret %s, which it does not have", item.Key, v.Secret.SecretName)
				}
				// The kubelet leaves the missing keys of an optional Secret out.
			}
		case v.PersistentVolumeClaim != nil:
			if !slices.ContainsFunc(objs, func(o object) bool {
				return o.gvk.Kind == "PersistentVolumeClaim" && o.name == v.PersistentVolumeClaim.ClaimName
			}) {
				t.Fatalf("the pod mounts PVC %s, which the chart does not create", v.PersistentVolumeClaim.ClaimName)
			}
		case v.EmptyDir != nil:
		default:
			t.Fatalf("volume %s: unexpected type", v.Name)
		}
	}
	return fs
}

func configMapData(t *testing.T, objs []object, name string) map[string]string {
	t.Helper()
	for _, cm := range byKind[*corev1.ConfigMap](objs) {
		if cm.Name == name {
			return cm.Data
		}
	}
	t.Fatalf("the pod mounts ConfigMap %s, which the chart does not render", name)
	return nil
}

// hostPath maps a path inside the container to the directory standing in for it.
func (fs *podFS) hostPath(p string) string { return filepath.Join(fs.root, p) }

var absPathRE = regexp.MustCompile(`(/[A-Za-z0-9._-]+)+`)

// rewrite replaces every absolute path on a mount with its host path.
func (fs *podFS) rewrite(s string) string {
	return absPathRE.ReplaceAllStringFunc(s, func(p string) string {
		for _, m := range fs.mounts {
			if p == m || strings.HasPrefix(p, m+"/") {
				return fs.hostPath(p)
			}
		}
		return p
	})
}

func (fs *podFS) write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o440); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// run runs the container's command with its args and env (paths rewritten), the built
// lifeboat standing in for the image's /usr/local/bin/lifeboat. Only PATH (for pg_dump)
// and HOME come from outside, as in a container.
func (fs *podFS) run(t *testing.T, bin string, timeout time.Duration) result {
	t.Helper()
	c := fs.pod.Spec.Containers[0]
	if len(c.Command) != 1 || c.Command[0] != "/usr/local/bin/lifeboat" {
		t.Fatalf("unexpected container command %v", c.Command)
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = fs.rewrite(a)
	}
	env := []string{"PATH=" + testenv.PostgresBinDir() + ":/usr/bin:/bin", "HOME=" + fs.hostPath("/var/lib/lifeboat")}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Fatalf("env %s: valueFrom is not simulated", e.Name)
		}
		env = append(env, e.Name+"="+fs.rewrite(e.Value))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = fs.root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", bin, err)
	}
	t.Logf("lifeboat %s -> exit %d in %s", strings.Join(c.Args, " "), r.code, time.Since(start).Round(time.Millisecond))
	return r
}

// committedInMinIO returns the id of the one committed backup (a manifest.json) under
// prefix in bucket.
func committedInMinIO(t *testing.T, m *testenv.MinIO, bucket, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	for obj := range m.Client().ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if id, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, prefix), "/manifest.json"); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("want one committed backup under s3://%s/%s, got %v", bucket, prefix, ids)
	}
	return ids[0]
}

// manifestInMinIO reads and decodes one manifest.
func manifestInMinIO(t *testing.T, m *testenv.MinIO, bucket, key string) *catalog.Manifest {
	t.Helper()
	obj, err := m.Client().GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	raw, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	man, err := catalog.Decode(raw)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return man
}

// committedInDir returns the id of the one committed backup of source in a file destination.
func committedInDir(t *testing.T, dir, source string) string {
	t.Helper()
	manifests, err := filepath.Glob(filepath.Join(dir, source, "*", "manifest.json"))
	if err != nil || len(manifests) != 1 {
		t.Fatalf("want one committed backup in %s/%s, got %v (%v)", dir, source, manifests, err)
	}
	return filepath.Base(filepath.Dir(manifests[0]))
}
