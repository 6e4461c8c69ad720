package history

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func run(source string, i int, status string) Run {
	started := t0.Add(time.Duration(i) * time.Minute)
	return Run{
		ID:     fmt.Sprintf("%s-%s-%04d", source, started.Format("20060102T150405Z"), i),
		Source: source, Trigger: TriggerSchedule, Started: started, Status: status,
		Destinations: []Destination{{Name: "local", OK: status == "ok"}},
	}
}

// Every Store passes the same tests; the server cannot tell them apart.
func forEachStore(t *testing.T, limit int, fn func(t *testing.T, s Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, NewMemory(limit)) })
	t.Run("bolt", func(t *testing.T) {
		b, err := OpenBolt(filepath.Join(t.TempDir(), "sub", "history.db"), limit)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		fn(t, b)
	})
}

func ids(runs []Run) string {
	var out []string
	for _, r := range runs {
		out = append(out, r.ID[len(r.ID)-4:])
	}
	return strings.Join(out, ",")
}

func TestPutGetReplace(t *testing.T) {
	forEachStore(t, 10, func(t *testing.T, s Store) {
		ctx := context.Background()
		r := run("vault", 1, StatusRunning)
		if err := s.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
		r.Status, r.Finished, r.Size = "ok", r.Started.Add(time.Minute), 42
		if err := s.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil || got.Status != "ok" || got.Size != 42 || !got.Finished.Equal(r.Finished) || got.Duration() != time.Minute {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if all, _ := s.List(ctx, "", 0); len(all) != 1 {
			t.Fatalf("a replaced run is listed twice: %+v", all)
		}
		if _, err := s.Get(ctx, "vault-20261123T100000Z-ffff"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		if _, err := s.Get(ctx, "../etc"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("malformed id: %v", err)
		}
	})
}

func TestListOrderFilterLimit(t *testing.T) {
	forEachStore(t, 10, func(t *testing.T, s Store) {
		ctx := context.Background()
		for _, r := range []Run{run("vault", 2, "ok"), run("workflows", 3, "failed"), run("vault", 1, "ok"), run("vault", 4, "partial")} {
			if err := s.Put(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		all, _ := s.List(ctx, "", 0)
		if got := ids(all); got != "0004,0003,0002,0001" {
			t.Fatalf("all runs newest first: %s", got)
		}
		vault, _ := s.List(ctx, "vault", 2)
		if got := ids(vault); got != "0004,0002" {
			t.Fatalf("vault, limit 2: %s", got)
		}
		if none, err := s.List(ctx, "nope", 0); err != nil || len(none) != 0 {
			t.Fatalf("unknown source: %v %v", none, err)
		}
	})
}

func TestCapPerSource(t *testing.T) {
	forEachStore(t, 3, func(t *testing.T, s Store) {
		ctx := context.Background()
		running := run("vault", 0, StatusRunning) // oldest, but still running: kept
		_ = s.Put(ctx, running)
		_ = s.Put(ctx, run("workflows", 0, "ok"))
		for i := 1; i <= 5; i++ {
			if err := s.Put(ctx, run("vault", i, "ok")); err != nil {
				t.Fatal(err)
			}
		}
		vault, _ := s.List(ctx, "vault", 0)
		if got := ids(vault); got != "0005,0004,0003,0000" {
			t.Fatalf("vault after cap 3: %s", got)
		}
		if wf, _ := s.List(ctx, "workflows", 0); len(wf) != 1 {
			t.Fatalf("the cap of one source trimmed another: %+v", wf)
		}
	})
}

func TestInterrupted(t *testing.T) {
	forEachStore(t, 10, func(t *testing.T, s Store) {
		ctx := context.Background()
		_ = s.Put(ctx, run("vault", 1, "ok"))
		running := run("vault", 2, StatusRunning)
		running.Destinations = []Destination{{Name: "local", OK: true}, {Name: "minio"}}
		_ = s.Put(ctx, running)
		closed, err := Interrupted(ctx, s, t0.Add(time.Hour))
		if err != nil || len(closed) != 1 || closed[0].ID != running.ID {
			t.Fatalf("Interrupted = %+v, %v", closed, err)
		}
		r, _ := s.Get(ctx, running.ID)
		if r.Status != "failed" || !strings.Contains(r.Error, "lifeboat list vault") || r.Finished.IsZero() {
			t.Fatalf("interrupted run: %+v", r)
		}
		// A destination that committed before the crash keeps its result; the others
		// are marked, so metrics count the failure against them.
		if d := r.Destinations; len(d) != 2 || !d[0].OK || d[0].Error != "" || d[1].OK || d[1].Error != "interrupted" {
			t.Fatalf("destinations of the interrupted run: %+v", d)
		}
		if closed[0].Status != r.Status || len(closed[0].Destinations) != 2 {
			t.Fatalf("returned record differs from the stored one: %+v", closed[0])
		}
	})
}

func TestBoltPersistsAndLocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	b, err := OpenBolt(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	r := run("vault", 1, "ok")
	_ = b.Put(context.Background(), r)
	if _, err := OpenBolt(path, 10); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("a second open of a file in use: %v", err)
	}
	_ = b.Close()
	b, err = OpenBolt(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, err := b.Get(context.Background(), r.ID); err != nil || got.Status != "ok" {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
}
