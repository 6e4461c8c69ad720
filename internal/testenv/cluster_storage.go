package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StorageClass is the cluster's default StorageClass. Its provisioner runs inside the test
// process: a PersistentVolumeClaim gets a hostPath PersistentVolume in the cluster
// directory, which survives pod and node restarts and is deleted with its claim (like
// rancher's local-path-provisioner, the usual choice for single-node clusters).
const (
	StorageClass      = "lifeboat-local"
	storageProvisoner = "lifeboat.test/hostpath"
)

func (c *Cluster) installStorageClass(ctx context.Context) error {
	sc := map[string]any{
		"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
		"metadata": map[string]any{
			"name":        StorageClass,
			"annotations": map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		"provisioner":       storageProvisoner,
		"reclaimPolicy":     "Delete",
		"volumeBindingMode": "Immediate",
	}
	_, err := c.Do(ctx, http.MethodPost, "/apis/storage.k8s.io/v1/storageclasses", sc, nil)
	return err
}

type pvcList struct {
	Items []struct {
		Metadata struct{ Name, Namespace, UID string }
		Spec     struct {
			StorageClassName *string
			VolumeName       string
			AccessModes      []string
			Resources        struct{ Requests map[string]string }
		}
		Status struct{ Phase string }
	}
}

type pvList struct {
	Items []struct {
		Metadata struct{ Name string }
		Spec     struct {
			StorageClassName string
			HostPath         *struct{ Path string }
		}
		Status struct{ Phase string }
	}
}

// provisionHostPaths is the provisioner loop: it binds pending claims of StorageClass to new
// hostPath volumes and deletes released volumes with their data.
func (c *Cluster) provisionHostPaths(ctx context.Context) {
	for {
		if err := c.provisionOnce(ctx); err != nil && ctx.Err() == nil {
			c.logf("test cluster provisioner: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *Cluster) provisionOnce(ctx context.Context) error {
	var claims pvcList
	if _, err := c.Do(ctx, http.MethodGet, "/api/v1/persistentvolumeclaims", nil, &claims); err != nil {
		return err
	}
	for _, pvc := range claims.Items {
		if pvc.Status.Phase != "Pending" || pvc.Spec.VolumeName != "" {
			continue
		}
		if pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName != StorageClass {
			continue
		}
		name := "pv-" + pvc.Metadata.UID
		path := filepath.Join(c.storageDir, pvc.Metadata.Namespace+"-"+pvc.Metadata.Name+"-"+pvc.Metadata.UID[:8])
		if err := os.MkdirAll(path, 0o777); err != nil {
			return err
		}
		// Pods run as non-root users and hostPath volumes ignore fsGroup.
		if err := os.Chmod(path, 0o777); err != nil {
			return err
		}
		size := pvc.Spec.Resources.Requests["storage"]
		if size == "" {
			size = "1Gi"
		}
		modes := pvc.Spec.AccessModes
		if len(modes) == 0 {
			modes = []string{"ReadWriteOnce"}
		}
		pv := map[string]any{
			"apiVersion": "v1", "kind": "PersistentVolume",
			"metadata": map[string]any{
				"name":        name,
				"annotations": map[string]string{"pv.kubernetes.io/provisioned-by": storageProvisoner},
			},
			"spec": map[string]any{
				"capacity":                      map[string]string{"storage": size},
				"accessModes":                   modes,
				"persistentVolumeReclaimPolicy": "Delete",
				"storageClassName":              StorageClass,
				"hostPath":                      map[string]any{"path": path, "type": "Directory"},
				"claimRef": map[string]any{
					"namespace": pvc.Metadata.Namespace, "name": pvc.Metadata.Name, "uid": pvc.Metadata.UID,
				},
			},
		}
		if _, err := c.Do(ctx, http.MethodPost, "/api/v1/persistentvolumes", pv, nil); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
			return fmt.Errorf("provision a volume for %s/%s: %w", pvc.Metadata.Namespace, pvc.Metadata.Name, err)
		}
	}
	var vols pvList
	if _, err := c.Do(ctx, http.MethodGet, "/api/v1/persistentvolumes", nil, &vols); err != nil {
		return err
	}
	for _, pv := range vols.Items {
		if pv.Spec.StorageClassName != StorageClass || pv.Status.Phase != "Released" || pv.Spec.HostPath == nil {
			continue
		}
		if !strings.HasPrefix(pv.Spec.HostPath.Path, c.storageDir+"/") {
			continue
		}
		if err := os.RemoveAll(pv.Spec.HostPath.Path); err != nil {
			return err
		}
		if _, err := c.Do(ctx, http.MethodDelete, "/api/v1/persistentvolumes/"+pv.Metadata.Name, nil, nil); err != nil && !strings.Contains(err.Error(), "NotFound") {
			return err
		}
	}
	return nil
}

// deleteAllPods deletes every pod at once and waits until the kubelet has stopped them all,
// so their sandboxes are torn down by CNI (addresses and namespaces released).
func (c *Cluster) deleteAllPods(ctx context.Context) error {
	type podList struct {
		Items []struct {
			Metadata struct{ Name, Namespace string }
			Spec     struct{ NodeName string }
		}
	}
	// Controllers would recreate what we delete: stop scheduling first.
	_, _ = c.Do(ctx, http.MethodPatch, "/api/v1/nodes/"+NodeName, map[string]any{"spec": map[string]any{"unschedulable": true}}, nil)
	var nss struct {
		Items []struct{ Metadata struct{ Name string } }
	}
	if _, err := c.Do(ctx, http.MethodGet, "/api/v1/namespaces", nil, &nss); err != nil {
		return err
	}
	for _, ns := range nss.Items {
		// Not a forced delete (grace 0): the pod objects must stay until the kubelet has
		// really stopped them, which is what this waits for.
		_, _ = c.Do(ctx, http.MethodDelete, "/api/v1/namespaces/"+ns.Metadata.Name+"/pods?gracePeriodSeconds=1", nil, nil)
	}
	for {
		var pods podList
		if _, err := c.Do(ctx, http.MethodGet, "/api/v1/pods", nil, &pods); err != nil {
			return err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				running++
			}
		}
		if running == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("pods still on the node: " + fmt.Sprint(running))
		case <-time.After(500 * time.Millisecond):
		}
	}
}
