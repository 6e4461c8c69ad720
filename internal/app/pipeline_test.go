package app

import (
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// A source's stallTimeout reaches its pipeline; without one the pipeline's default holds.
func TestPipelineStallTimeout(t *testing.T) {
	for yaml, want := range map[string]time.Duration{
		"stallTimeout: 45s, ": 45 * time.Second,
		"":                    0, // pipeline.DefaultStallTimeout applies
	} {
		cfg, err := config.Parse([]byte(`
sources:
  - {name: vault, kind: vault, ` + yaml + `vault: {address: "https://v:8200"}}
destinations:
  - {name: local, kind: file, file: {path: /b}}
`))
		if err != nil {
			t.Fatal(err)
		}
		p, err := (&App{Config: cfg}).Pipeline(&cfg.Sources[0])
		if err != nil {
			t.Fatal(err)
		}
		if p.StallTimeout != want {
			t.Errorf("%q: StallTimeout = %s, want %s (default %s)", yaml, p.StallTimeout, want, pipeline.DefaultStallTimeout)
		}
	}
}
