package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHeavyPackagesStayOut keeps out of the binary the packages whose initialisation
// alone grew every command's resident memory (issue 15: a backup must peak at 48 MiB).
// client-go's discovery client (with the OpenAPI models it imports), its REST mapper and
// the typed clientset cost ~11 MiB before any work is done; internal/kube and the
// kubernetes source kind use the rest and dynamic clients instead. The GCS SDK brought
// gRPC, xDS and OpenTelemetry (~18 MiB); internal/store/gcs speaks the JSON API.
func TestHeavyPackagesStayOut(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []struct{ pkg, why string }{
		{"k8s.io/client-go/discovery", "use the resolver of internal/source/kubernetes"},
		{"k8s.io/client-go/restmapper", "use the resolver of internal/source/kubernetes"},
		{"k8s.io/client-go/kubernetes", "use kube.NewREST and small structs"},
		{"github.com/google/gnostic-models", "imported by the discovery client"},
		{"cloud.google.com/go/storage", "internal/store/gcs speaks the JSON API over net/http"},
		{"google.golang.org/grpc", "imported by the GCS SDK and google.golang.org/api/transport"},
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f.pkg || strings.HasPrefix(dep, f.pkg+"/") {
				t.Errorf("lifeboat imports %s (%s)", dep, f.why)
			}
		}
	}
}
