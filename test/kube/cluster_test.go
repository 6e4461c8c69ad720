package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The harness itself: a Job from the lifeboat image runs as the image's user, writes to a
// dynamically provisioned volume, and its output lands on the node's disk.
func TestClusterRunsJobsOnVolumes(t *testing.T) {
	c := cluster(t)
	const ns = "smoke"
	namespace(t, c, ns)
	create(t, c, map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]any{"name": "data", "namespace": ns},
		"spec": map[string]any{
			"accessModes": []string{"ReadWriteOnce"},
			"resources":   map[string]any{"requests": map[string]string{"storage": "10Mi"}},
		},
	})
	create(t, c, map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "write", "namespace": ns},
		"spec": map[string]any{
			"backoffLimit": 0,
			"template": map[string]any{"spec": map[string]any{
				"restartPolicy": "Never",
				"containers": []any{map[string]any{
					"name": "write", "image": lifeboatImage, "imagePullPolicy": "Never",
					"command":      []string{"/bin/sh", "-c", "id -u > /data/uid && lifeboat version > /data/version && pg_dump --version >> /data/version"},
					"volumeMounts": []any{map[string]any{"name": "data", "mountPath": "/data"}},
				}},
				"volumes": []any{map[string]any{"name": "data", "persistentVolumeClaim": map[string]any{"claimName": "data"}}},
			}},
		},
	})
	ok, logs := waitJob(t, c, ns, "write", 3*time.Minute)
	mustJob(t, ok, logs)
	var pvc struct{ Spec struct{ VolumeName string } }
	c.MustDo("GET", objectPath("PersistentVolumeClaim", ns, "data"), nil, &pvc)
	var pv struct {
		Spec struct{ HostPath struct{ Path string } }
	}
	c.MustDo("GET", "/api/v1/persistentvolumes/"+pvc.Spec.VolumeName, nil, &pv)
	uid, err := os.ReadFile(filepath.Join(pv.Spec.HostPath.Path, "uid"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(uid)) != "65532" {
		t.Errorf("the pod ran as uid %s, want the image's 65532", uid)
	}
	version, _ := os.ReadFile(filepath.Join(pv.Spec.HostPath.Path, "version"))
	if !strings.Contains(string(version), "pg_dump (PostgreSQL) 17") {
		t.Errorf("the image's tools said:\n%s", version)
	}
}
