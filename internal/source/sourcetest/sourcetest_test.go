package sourcetest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestBrokenStream(t *testing.T) {
	src := Vault([]byte("0123456789"))
	src.ReadErr, src.FailAt = ErrReset, 4
	art, err := src.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(art.Body)
	if string(data) != "0123" || !errors.Is(err, ErrReset) {
		t.Fatalf("read %q, %v; want 4 bytes, then the reset", data, err)
	}
	if src.Opens() != 1 || art.Inspect == nil || art.Finish != nil || art.Extras != nil {
		t.Fatalf("opens %d; a vault source without failures has only Inspect: %+v", src.Opens(), art)
	}
}

// The gate holds the stream mid-way until it opens, the run's context ends or the body
// is closed.
func TestGate(t *testing.T) {
	data := strings.Repeat("z", 3*GateAfter)
	for name, release := range map[string]func(gate chan struct{}, cancel context.CancelFunc, body io.Closer) error{
		"opened":    func(gate chan struct{}, _ context.CancelFunc, _ io.Closer) error { close(gate); return nil },
		"cancelled": func(_ chan struct{}, cancel context.CancelFunc, _ io.Closer) error { cancel(); return context.Canceled },
		"closed": func(_ chan struct{}, _ context.CancelFunc, body io.Closer) error {
			body.Close()
			return errClosedForTest
		},
	} {
		t.Run(name, func(t *testing.T) {
			gate := make(chan struct{})
			src := New("workflows", "postgres", []byte(data))
			src.Gate = gate
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			art, err := src.Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, len(data))
			if n, err := art.Body.Read(head); n != GateAfter || err != nil {
				t.Fatalf("first read = %d, %v; want the %d bytes before the gate", n, err, GateAfter)
			}
			want := release(gate, cancel, art.Body)
			rest, err := io.ReadAll(art.Body)
			switch {
			case want == nil && (err != nil || len(rest) != len(data)-GateAfter):
				t.Fatalf("after the gate opened: %d bytes, %v", len(rest), err)
			case want == context.Canceled && !errors.Is(err, context.Canceled):
				t.Fatalf("after cancel: %v", err)
			case want == errClosedForTest && (err == nil || !strings.Contains(err.Error(), "closed")):
				t.Fatalf("after close: %v", err)
			}
		})
	}
}

var errClosedForTest = errors.New("closed")
