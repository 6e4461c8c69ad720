package ctxio

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := NewReader(ctx, strings.NewReader("abcdef"))
	buf := make([]byte, 2)
	if n, err := r.Read(buf); n != 2 || err != nil {
		t.Fatalf("first read = %d, %v", n, err)
	}
	cancel()
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel = %v, want context.Canceled", err)
	}
	if !errors.Is(r.Err(), context.Canceled) {
		t.Fatalf("Err() = %v, want context.Canceled", r.Err())
	}
}

func TestReaderRemembersSourceError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(context.Background(), io.MultiReader(strings.NewReader("ab"), &failing{boom}))
	data, err := io.ReadAll(r)
	if string(data) != "ab" || !errors.Is(err, boom) || !errors.Is(r.Err(), boom) {
		t.Fatalf("ReadAll = %q, %v; Err() = %v", data, err, r.Err())
	}
}

func TestReaderEOFIsNotAnError(t *testing.T) {
	r := NewReader(context.Background(), strings.NewReader("ab"))
	if _, err := io.ReadAll(r); err != nil || r.Err() != nil {
		t.Fatalf("ReadAll err = %v, Err() = %v", err, r.Err())
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }
