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
