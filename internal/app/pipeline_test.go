package app

import (
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
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

// App.Clock is the time of its backups: ids and manifests carry it.
func TestPipelineUsesTheAppClock(t *testing.T) {
	a := testApp(t, localOnly, false)
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	a.Clock = clocktest.New(at)
	res := backUp(t, a, snapshotSource())
	if res.Status() != pipeline.StatusOK {
		t.Fatal(res.Error())
	}
	if !res.Started.Equal(at) || !res.Manifest.Created.Equal(at) || !strings.Contains(res.ID, "20310203T040506Z") {
		t.Fatalf("run %s started %s, manifest created %s; want the app clock's %s", res.ID, res.Started, res.Manifest.Created, at)
	}
}
