package helm

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// The gcs example: the primary bucket without a key (Workload Identity through the service
// account's annotation), the offsite bucket with the key Secret mounted only in the pods
// of the sources that write to it.
func checkGCS(t *testing.T, objs []object, cfg *config.Config) {
	t.Helper()
	const keyFile = "/etc/lifeboat/secrets/gcs-gcs-offsite/key.json"
	want := map[string]config.GCSDest{
		"gcs-primary": {Bucket: "acme-platform-backups", ChunkSizeMiB: config.DefaultGCSChunkSizeMiB},
		"gcs-offsite": {Bucket: "acme-dr-backups-eu", ChunkSizeMiB: 32, CredentialsFile: keyFile},
	}
	for _, d := range cfg.Destinations {
		w, ok := want[d.Name]
		if !ok || d.Kind != config.KindGCS || d.GCS == nil || *d.GCS != w || d.Prefix != "prod" {
			t.Errorf("gcs: destination %s = %+v (gcs %+v), want kind gcs with %+v under prod", d.Name, d, d.GCS, w)
		}
	}
	sas := byKind[*corev1.ServiceAccount](objs)
	if len(sas) != 1 || sas[0].Annotations["iam.gke.io/gcp-service-account"] != "lifeboat@acme-platform.iam.gserviceaccount.com" {
		t.Errorf("gcs: the service account does not carry the Workload Identity annotation: %+v", sas)
	}
	// checkMountedPaths has made sure the pods that need the key mount it; no other may.
	for name, pod := range podTemplates(objs) {
		mounts := false
		for _, v := range pod.Spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName == "lifeboat-gcs-offsite" {
				mounts = true
			}
		}
		if needs := pod.Labels["app.kubernetes.io/component"] == "backup-vault"; mounts != needs {
			t.Errorf("gcs: %s mounts the offsite key: %v, want %v (only the Vault backup writes offsite)", name, mounts, needs)
		}
	}
}
