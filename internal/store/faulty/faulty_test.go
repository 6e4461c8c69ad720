package faulty

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/file"
	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
)

func newFaulty(t *testing.T) *Store {
	t.Helper()
	inner, err := file.New(t.TempDir(), file.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(inner)
}

// Without faults the wrapper is invisible.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newFaulty(t) })
}

func TestFailOps(t *testing.T) {
	s := newFaulty(t)
	ctx := context.Background()
	if err := s.Put(ctx, "a/b", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	for _, op := range []Op{Put, Get, Stat, List, Delete} {
		s.Add(Fault{Op: op, Err: refused, Times: 1})
	}
	rc, getErr := s.Get(ctx, "a/b")
	if getErr == nil {
		rc.Close()
	}
	_, statErr := s.Stat(ctx, "a/b")
	_, listErr := s.List(ctx, "")
	for op, err := range map[Op]error{
		Put:    s.Put(ctx, "a/c", strings.NewReader("x")),
		Get:    getErr,
		Stat:   statErr,
		List:   listErr,
		Delete: s.Delete(ctx, "a/b"),
	} {
		if !errors.Is(err, refused) || !strings.Contains(err.Error(), "file://") {
			t.Errorf("%s = %v, want the injected error naming the store", op, err)
		}
	}
	// Times: 1 is used up; the store works again and the failed calls changed nothing.
	infos, err := s.List(ctx, "")
	if err != nil || len(infos) != 1 || infos[0].Key != "a/b" {
		t.Fatalf("List after the faults = %+v, %v", infos, err)
	}
	if got := s.Calls(List); got != 2 {
		t.Fatalf("Calls(List) = %d, want 2", got)
	}
}

// A full disk after some bytes: the wrapped store aborts its write, nothing is left.
func TestPutFailsAfterBytes(t *testing.T) {
	s := newFaulty(t)
	ctx := context.Background()
	s.Add(Fault{Op: Put, Key: "*/*/data.snap", AfterBytes: 1000, Err: ErrNoSpace})
	err := s.Put(ctx, "vault/id/data.snap", strings.NewReader(strings.Repeat("x", 5000)))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put = %v, want ENOSPC", err)
	}
	// The pattern spares other keys.
	if err := s.Put(ctx, "vault/id/manifest.json", strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	infos, err := s.List(ctx, "")
	if err != nil || len(infos) != 1 || infos[0].Key != "vault/id/manifest.json" {
		t.Fatalf("List = %+v, %v; want only the manifest", infos, err)
	}
}

func TestGetTruncates(t *testing.T) {
	s := newFaulty(t)
	ctx := context.Background()
	if err := s.Put(ctx, "k", strings.NewReader(strings.Repeat("x", 5000))); err != nil {
		t.Fatal(err)
	}
	cut := errors.New("connection reset")
	s.Add(Fault{Op: Get, Key: "k", AfterBytes: 1234, Err: cut})
	rc, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if len(data) != 1234 || !errors.Is(err, cut) {
		t.Fatalf("read %d bytes, %v; want 1234 bytes then the injected error", len(data), err)
	}
}

func TestBlock(t *testing.T) {
	s := newFaulty(t)
	release := make(chan struct{})
	s.Add(Fault{Op: Put, Block: release})

	done := make(chan error, 1)
	go func() { done <- s.Put(context.Background(), "k", strings.NewReader("x")) }()
	select {
	case err := <-done:
		t.Fatalf("Put returned %v before it was released", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("released Put = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.Add(Fault{Op: Stat, Block: make(chan struct{})})
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := s.Stat(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked Stat after cancel = %v, want context.Canceled", err)
	}
}

// A truncated or corrupted read looks like a good one; only the size or the checksum
// tells, which is what a restore must check.
func TestGetTruncateAndCorrupt(t *testing.T) {
	s := newFaulty(t)
	ctx := context.Background()
	want := strings.Repeat("x", 5000)
	if err := s.Put(ctx, "k", strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	read := func() string {
		t.Helper()
		rc, err := s.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("a silent fault failed the read: %v", err)
		}
		return string(data)
	}

	s.Add(Fault{Op: Get, Key: "k", AfterBytes: 1234, Truncate: true, Times: 1})
	if got := read(); got != want[:1234] {
		t.Fatalf("truncated read is %d bytes, want 1234", len(got))
	}
	s.Add(Fault{Op: Get, Key: "k", AfterBytes: 4321, Corrupt: true, Times: 1})
	got := read()
	if len(got) != len(want) || got[4321] != 'x'^0xff || got[:4321] != want[:4321] || got[4322:] != want[4322:] {
		t.Fatalf("corrupted read differs elsewhere than at byte 4321 (%d bytes)", len(got))
	}
	if got := read(); got != want {
		t.Fatal("the stored object changed")
	}
}

// A destination that silently stores a short or altered object: the store commits it.
func TestPutTruncateAndCorrupt(t *testing.T) {
	s := newFaulty(t)
	ctx := context.Background()
	want := strings.Repeat("y", 3000)
	s.Add(Fault{Op: Put, Key: "short", AfterBytes: 10, Truncate: true})
	s.Add(Fault{Op: Put, Key: "rotten", AfterBytes: 0, Corrupt: true})
	for _, k := range []string{"short", "rotten"} {
		if err := s.Put(ctx, k, strings.NewReader(want)); err != nil {
			t.Fatalf("Put %s = %v", k, err)
		}
	}
	for k, size := range map[string]int64{"short": 10, "rotten": 3000} {
		if info, err := s.Stat(ctx, k); err != nil || info.Size != size {
			t.Fatalf("Stat %s = %+v, %v; want %d bytes", k, info, err, size)
		}
	}
	rc, err := s.Get(ctx, "rotten")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	stored, err := io.ReadAll(rc)
	if err != nil || len(stored) != len(want) || stored[0] != 'y'^0xff || string(stored[1:]) != want[1:] {
		t.Fatalf("stored %d bytes, %v; want the first byte inverted and the rest unchanged", len(stored), err)
	}
}
