// Package kube runs the Helm chart for real: a single-node Kubernetes (testenv.Cluster)
// runs lifeboat's pods from the image `make image` builds, against an in-cluster OpenBao
// and a PostgreSQL, MinIO and Pushgateway on the host. The tests assert on what the pods
// did: objects in MinIO and on the PVC, secrets read back, rows restored.
package kube

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/ociimage"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := testenv.StopSharedCluster(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the test cluster did not leave the host as it found it: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

// lifeboatImage is what scripts/build-image.sh names the image by default.
const lifeboatImage = "ghcr.io/lifeboat-backup/lifeboat:dev"

var (
	imageOnce sync.Once
	imageErr  error
)

// cluster returns the shared cluster with the lifeboat image of this checkout imported.
// The image is built by scripts/test.sh (make image) before the tests; a missing archive,
// or one stamped with another commit than the checkout's, is built here, so
// `go test ./test/kube/` works on its own and never tests yesterday's image.
func cluster(t *testing.T) *testenv.Cluster {
	t.Helper()
	c := testenv.SharedCluster(t)
	imageOnce.Do(func() {
		archive := filepath.Join(testenv.RepoRoot(), "bin", "lifeboat-image.tar")
		if imageVersion(archive) != checkoutVersion() {
			cmd := exec.Command(filepath.Join(testenv.RepoRoot(), "scripts", "build-image.sh"))
			cmd.Dir = testenv.RepoRoot()
			if out, err := cmd.CombinedOutput(); err != nil {
				imageErr = fmt.Errorf("build the image (scripts/build-image.sh): %v\n%s", err, out)
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		imageErr = c.ImportImage(ctx, archive)
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return c
}

// imageVersion is the version label of the image archive ("" when there is none).
func imageVersion(archive string) string {
	img, err := ociimage.Open(archive)
	if err != nil {
		return ""
	}
	defer img.Close()
	return img.Config.Config.Labels["org.opencontainers.image.version"]
}

// checkoutVersion is what scripts/build-image.sh stamps a build of this checkout with.
func checkoutVersion() string {
	out, err := exec.Command("git", "-C", testenv.RepoRoot(), "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		return "dev"
	}
	return strings.TrimSpace(string(out))
}

// resourcePaths maps the kinds the tests create to their API collection.
var resourcePaths = map[string]struct {
	prefix     string
	plural     string
	namespaced bool
}{
	"Namespace":             {"/api/v1", "namespaces", false},
	"Secret":                {"/api/v1", "secrets", true},
	"ConfigMap":             {"/api/v1", "configmaps", true},
	"Service":               {"/api/v1", "services", true},
	"ServiceAccount":        {"/api/v1", "serviceaccounts", true},
	"Pod":                   {"/api/v1", "pods", true},
	"StatefulSet":           {"/apis/apps/v1", "statefulsets", true},
	"Deployment":            {"/apis/apps/v1", "deployments", true},
	"Job":                   {"/apis/batch/v1", "jobs", true},
	"CronJob":               {"/apis/batch/v1", "cronjobs", true},
	"ClusterRoleBinding":    {"/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", false},
	"PersistentVolumeClaim": {"/api/v1", "persistentvolumeclaims", true},
}

func objectPath(kind, namespace, name string) string {
	r, ok := resourcePaths[kind]
	if !ok {
		panic("test/kube: no API path for kind " + kind)
	}
	p := r.prefix
	if r.namespaced {
		p += "/namespaces/" + namespace
	}
	p += "/" + r.plural
	if name != "" {
		p += "/" + name
	}
	return p
}

// create POSTs an object given as a map with apiVersion, kind and metadata.
func create(t *testing.T, c *testenv.Cluster, obj map[string]any) {
	t.Helper()
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	c.MustDo(http.MethodPost, objectPath(obj["kind"].(string), ns, ""), obj, nil)
}

func namespace(t *testing.T, c *testenv.Cluster, name string) {
	t.Helper()
	create(t, c, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}})
}

func secret(t *testing.T, c *testenv.Cluster, ns, name string, data map[string]string) {
	t.Helper()
	create(t, c, map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"stringData": data,
	})
}

// waitUntil is testenv.WaitFor for checks that need no context.
func waitUntil(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	testenv.WaitFor(t, nil, timeout, what, func(context.Context) error { return check() })
}

func get(c *testenv.Cluster, path string, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.Do(ctx, http.MethodGet, path, nil, out)
	return err
}

type podList struct {
	Items []struct {
		Metadata struct {
			Name   string
			Labels map[string]string
		}
		Spec struct {
			InitContainers, Containers []struct{ Name string }
		}
		Status struct {
			Phase             string
			PodIP             string
			ContainerStatuses []struct {
				Name  string
				Ready bool
				State map[string]json.RawMessage
			}
		}
	}
}

// podsLog is the log of every pod matching selector, for failure messages.
func podsLog(c *testenv.Cluster, ns, selector string) string {
	var pods podList
	if err := get(c, "/api/v1/namespaces/"+ns+"/pods?labelSelector="+selector, &pods); err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		for _, ctr := range append(p.Spec.InitContainers, p.Spec.Containers...) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			data, err := c.Do(ctx, http.MethodGet, "/api/v1/namespaces/"+ns+"/pods/"+p.Metadata.Name+"/log?tailLines=60&container="+ctr.Name, nil, nil)
			cancel()
			fmt.Fprintf(&b, "---- pod %s (%s), container %s ----\n", p.Metadata.Name, p.Status.Phase, ctr.Name)
			if err != nil {
				fmt.Fprintf(&b, "(log: %v)\n", err)
				continue
			}
			b.Write(data)
		}
	}
	return b.String()
}

// helm runs the helm binary against the cluster.
func helm(t *testing.T, c *testenv.Cluster, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.Binary(t, "helm"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// writeValues writes chart values given as a Go value into a temp file.
func writeValues(t *testing.T, values any) string {
	t.Helper()
	data, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func chartDir() string { return filepath.Join(testenv.RepoRoot(), "deploy", "helm", "lifeboat") }

// runJobFromCronJob does what `kubectl create job --from=cronjob/NAME` does and waits for
// the Job to finish; it returns whether it succeeded and the pods' logs.
func runJobFromCronJob(t *testing.T, c *testenv.Cluster, ns, cronJob, jobName string, timeout time.Duration) (bool, string) {
	t.Helper()
	var cj struct {
		Spec struct {
			JobTemplate struct {
				Spec map[string]any `json:"spec"`
			} `json:"jobTemplate"`
		}
	}
	c.MustDo(http.MethodGet, objectPath("CronJob", ns, cronJob), nil, &cj)
	create(t, c, map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{
			"name": jobName, "namespace": ns,
			"annotations": map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
		},
		"spec": cj.Spec.JobTemplate.Spec,
	})
	return waitJob(t, c, ns, jobName, timeout)
}

// waitJob waits until the Job completed or failed.
func waitJob(t *testing.T, c *testenv.Cluster, ns, name string, timeout time.Duration) (bool, string) {
	t.Helper()
	var succeeded bool
	waitUntil(t, timeout, "job "+ns+"/"+name+" to finish", func() error {
		var job struct {
			Status struct {
				Conditions []struct{ Type, Status string }
			}
		}
		if err := get(c, objectPath("Job", ns, name), &job); err != nil {
			return err
		}
		for _, cond := range job.Status.Conditions {
			if cond.Status != "True" {
				continue
			}
			switch cond.Type {
			case "Complete":
				succeeded = true
				return nil
			case "Failed":
				return nil
			}
		}
		return fmt.Errorf("still running")
	})
	return succeeded, podsLog(c, ns, "job-name="+name)
}

func mustJob(t *testing.T, ok bool, logs string) {
	t.Helper()
	if !ok {
		t.Fatalf("the Job failed; its pods' logs:\n%s", logs)
	}
}

// waitScheduledJob waits until a Job the CronJob of component started on its schedule
// succeeded (not one the test made), and returns its name; a failed one fails the test.
func waitScheduledJob(t *testing.T, c *testenv.Cluster, ns, component string, timeout time.Duration) string {
	t.Helper()
	var name string
	waitUntil(t, timeout, "a scheduled "+component+" Job to succeed", func() error {
		var jobs struct {
			Items []struct {
				Metadata struct {
					Name            string
					Annotations     map[string]string
					OwnerReferences []struct{ Kind string }
				}
				Status struct{ Succeeded, Failed int }
			}
		}
		if err := get(c, objectPath("Job", ns, "")+"?labelSelector=app.kubernetes.io/component%3D"+component, &jobs); err != nil {
			return err
		}
		for _, j := range jobs.Items {
			if len(j.Metadata.OwnerReferences) == 0 || j.Metadata.OwnerReferences[0].Kind != "CronJob" || j.Metadata.Annotations["cronjob.kubernetes.io/instantiate"] == "manual" {
				continue
			}
			if j.Status.Succeeded > 0 {
				name = j.Metadata.Name
				return nil
			}
			if j.Status.Failed > 0 {
				t.Fatalf("scheduled Job %s failed:\n%s", j.Metadata.Name, podsLog(c, ns, "job-name="+j.Metadata.Name))
			}
		}
		return fmt.Errorf("none yet (%d Jobs)", len(jobs.Items))
	})
	return name
}

// waitNoActiveJobs waits until no Job in ns is running.
func waitNoActiveJobs(t *testing.T, c *testenv.Cluster, ns string) {
	t.Helper()
	waitUntil(t, 3*time.Minute, "the Jobs in "+ns+" to finish", func() error {
		var jobs struct {
			Items []struct {
				Metadata struct{ Name string }
				Status   struct{ Active int }
			}
		}
		if err := get(c, objectPath("Job", ns, ""), &jobs); err != nil {
			return err
		}
		for _, j := range jobs.Items {
			if j.Status.Active > 0 {
				return fmt.Errorf("job %s is running", j.Metadata.Name)
			}
		}
		return nil
	})
}

// jobExitCodes are the exit codes of the Job's terminated containers.
func jobExitCodes(t *testing.T, c *testenv.Cluster, ns, job string) []int {
	t.Helper()
	var pods struct {
		Items []struct {
			Status struct {
				ContainerStatuses []struct {
					State struct {
						Terminated *struct{ ExitCode int }
					}
				}
			}
		}
	}
	c.MustDo(http.MethodGet, "/api/v1/namespaces/"+ns+"/pods?labelSelector=job-name%3D"+job, nil, &pods)
	var codes []int
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Terminated != nil {
				codes = append(codes, cs.State.Terminated.ExitCode)
			}
		}
	}
	return codes
}

// signingKey makes an ed25519 key pair for an example's `signing` values: the Secret data
// of the private key (key private.pem, as the examples name it) and the public key for
// signing.publicKeys (the examples' own public key has no private key anyone holds).
func signingKey(t *testing.T) (map[string]string, string) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := catalog.PrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"private.pem": string(pem)}, catalog.FormatPublicKey(pub)
}
