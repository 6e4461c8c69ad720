package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Source backs up a cluster's configuration objects.
type Source struct {
	name string
	cfg  *config.Kubernetes
	log  *slog.Logger
}

var _ source.Source = (*Source)(nil)

func (s *Source) Name() string { return s.name }
func (s *Source) Kind() string { return config.KindKubernetes }

// Open reads every object before returning: a refused list or an unreachable server
// fails here, before anything is uploaded. Configuration is small (kilobytes per object),
// so the archive is built in memory.
func (s *Source) Open(ctx context.Context) (*source.Artifact, error) {
	snap, err := collectSource(ctx, s.cfg, s.log, "")
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s.name, err)
	}
	var buf bytes.Buffer
	if err := writeArchive(&buf, snap.objects); err != nil {
		return nil, fmt.Errorf("source %s: write archive: %w", s.name, err)
	}
	info := manifestInfo(snap)
	return &source.Artifact{
		Body:     io.NopCloser(&buf),
		Ext:      ArtifactExt,
		Compress: true,
		Inspect: func(r io.Reader) error {
			_, err := readArchive(r)
			return err
		},
		Finish: func(_ context.Context, m *catalog.Manifest) error {
			m.Kubernetes = info
			return nil
		},
	}, nil
}

func collectSource(ctx context.Context, cfg *config.Kubernetes, log *slog.Logger, namespace string) (*snapshot, error) {
	c, err := newClients(cfg.API, nil)
	if err != nil {
		return nil, err
	}
	col := &collector{c: c, cfg: cfg, log: log}
	return col.collect(ctx, namespace)
}

func manifestInfo(snap *snapshot) *catalog.KubernetesInfo {
	info := &catalog.KubernetesInfo{ServerVersion: snap.serverVersion}
	for _, row := range countObjects(snap.objects) {
		info.Objects = append(info.Objects, catalog.KubernetesCount{
			Group: row.key.Group, Kind: row.key.Kind, Namespace: row.key.Namespace, Count: row.n})
	}
	return info
}

// describeObjects is "12 objects: 3 ConfigMap, 2 Secret, …" in count order.
func describeObjects(objs []*unstructured.Unstructured) string {
	kinds := map[string]int{}
	var order []string
	for _, row := range countObjects(objs) {
		if kinds[row.key.Kind] == 0 {
			order = append(order, row.key.Kind)
		}
		kinds[row.key.Kind] += row.n
	}
	s := fmt.Sprintf("%d objects", len(objs))
	for i, k := range order {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		s += fmt.Sprintf("%s%d %s", sep, kinds[k], k)
	}
	return s
}
