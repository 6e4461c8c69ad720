package vault

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type member struct {
	name string
	data []byte
}

// fakeSnapshot builds an archive shaped like Vault's: the real ones come from the
// integration tests; these let every damage case be exact.
func fakeSnapshot(t testing.TB, edit func(members []member) []member) []byte {
	t.Helper()
	meta := []byte(`{"Version":1,"ID":"2-42-1700000000000","Index":42,"Term":2,"Size":11}`)
	state := bytes.Repeat([]byte("state-bytes"), 1)
	sums := fmt.Sprintf("%x  meta.json\n%x  state.bin\n", sha256.Sum256(meta), sha256.Sum256(state))
	members := []member{{"meta.json", meta}, {"state.bin", state}, {"SHA256SUMS", []byte(sums)}, {"SHA256SUMS.sealed", []byte("sealed-blob")}}
	if edit != nil {
		members = edit(members)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o600, Size: int64(len(m.data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInspectSnapshot(t *testing.T) {
	good := fakeSnapshot(t, nil)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0xff
	tests := []struct {
		name    string
		data    []byte
		wantErr string // "" means valid
	}{
		{"good", good, ""},
		{"empty", nil, "the snapshot is empty"},
		{"not gzip", []byte(`{"errors":["permission denied"]}`), "not gzip data"},
		{"truncated in the middle", good[:len(good)/2], "truncated"},
		{"truncated before the trailer", good[:len(good)-4], "truncated"},
		{"flipped byte", flipped, "corrupt raft snapshot"},
		{"trailing garbage", append(bytes.Clone(good), "junk"...), "unexpected bytes after"},
		{"state changed", fakeSnapshot(t, func(m []member) []member {
			m[1].data = []byte("other-state")
			return m
		}), "SHA256SUMS says"},
		{"sealed sums missing", fakeSnapshot(t, func(m []member) []member { return m[:3] }), "SHA256SUMS.sealed is missing"},
		{"sealed sums empty", fakeSnapshot(t, func(m []member) []member {
			m[3].data = nil
			return m
		}), "SHA256SUMS.sealed is missing or empty"},
		{"sums missing", fakeSnapshot(t, func(m []member) []member { return []member{m[0], m[1], m[3]} }), "SHA256SUMS is missing"},
		{"state missing", fakeSnapshot(t, func(m []member) []member { return []member{m[0], m[2], m[3]} }), "state.bin is listed in SHA256SUMS but missing"},
		{"meta not json", fakeSnapshot(t, func(m []member) []member {
			m[0].data = []byte("nope")
			m[2].data = []byte(fmt.Sprintf("%x  meta.json\n%x  state.bin\n", sha256.Sum256(m[0].data), sha256.Sum256(m[1].data)))
			return m
		}), "meta.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := InspectSnapshot(bytes.NewReader(tt.data))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("valid snapshot rejected: %v", err)
				}
				if info.Index != 42 || info.Term != 2 {
					t.Fatalf("info = %+v", info)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted a bad snapshot, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("error %q does not wrap ErrCorruptSnapshot", err)
			}
		})
	}
}

func FuzzInspectSnapshot(f *testing.F) {
	good := fakeSnapshot(f, nil)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Must never panic or hang; accepted input must carry the required members.
		info, err := InspectSnapshot(bytes.NewReader(data))
		if err == nil && info.Version == 0 && info.Index == 0 && !bytes.Equal(data, good) {
			// A valid archive without meta fields is possible but must have passed the sums.
			return
		}
	})
}
