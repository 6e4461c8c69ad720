package kubernetes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// ExportOptions says what Export writes where.
type ExportOptions struct {
	// Namespace restricts the export to one namespace (cluster-scoped objects are then
	// left out); empty exports everything the source backs up.
	Namespace string
	// Dir receives one file per object at the archive's paths; empty writes one
	// multi-document YAML stream to Out.
	Dir    string
	Out    io.Writer
	Logger *slog.Logger
}

// Export writes the cleaned objects a backup of src would hold, for a person to read,
// diff or apply with kubectl apply --server-side. It returns the number of objects.
func Export(ctx context.Context, src *config.Source, o ExportOptions) (int, error) {
	if src.Kubernetes == nil {
		return 0, fmt.Errorf("%w: source %s is not a kubernetes source", source.ErrUsage, src.Name)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	snap, err := collectSource(ctx, src.Kubernetes, log, o.Namespace)
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", src.Name, err)
	}
	objs := ordered(snap.objects)
	if o.Dir != "" {
		return len(objs), writeDir(o.Dir, objs)
	}
	for i, u := range objs {
		data, err := encode(u)
		if err != nil {
			return i, err
		}
		if _, err := fmt.Fprintf(o.Out, "---\n%s", data); err != nil {
			return i, err
		}
	}
	return len(objs), nil
}

// writeDir writes one file per object; an existing file is replaced, others are kept.
func writeDir(dir string, objs []*unstructured.Unstructured) error {
	for _, u := range slices.Clone(objs) {
		p := filepath.Join(dir, filepath.FromSlash(keyOf(u).Path()))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("export: object %s would be written outside %s", keyOf(u), dir)
		}
		data, err := encode(u)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		// 0600: the export holds Secrets.
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return nil
}
