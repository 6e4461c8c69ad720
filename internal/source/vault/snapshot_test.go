package vault

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
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
		{"state listed twice in the archive", fakeSnapshot(t, func(m []member) []member {
			return []member{m[0], m[1], m[1], m[2], m[3]}
		}), "state.bin appears twice"},
		{"state not in the sums", fakeSnapshot(t, func(m []member) []member {
			m[2].data = []byte(fmt.Sprintf("%x  meta.json\n%x  SHA256SUMS.sealed\n", sha256.Sum256(m[0].data), sha256.Sum256(m[3].data)))
			return m
		}), "SHA256SUMS does not list state.bin"},
		{"one byte", good[:1], "only 1 byte long"},
		{"too many members", fakeSnapshot(t, func(m []member) []member {
			for i := range 100 {
				m = append(m, member{fmt.Sprintf("extra-%d", i), nil})
			}
			return m
		}), "more than 64 files"},
		{"huge meta.json", fakeSnapshot(t, func(m []member) []member {
			m[0].data = bytes.Repeat([]byte(" "), maxSmallFile+1)
			return m
		}), "meta.json is larger than"},
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

// Every proper prefix of a good snapshot is a truncated stream and must be rejected as
// corrupt, wherever the cut falls (gzip header, deflate data, tar padding, trailer).
func TestInspectSnapshotRejectsEveryTruncation(t *testing.T) {
	good := fakeSnapshot(t, nil)
	if _, err := InspectSnapshot(bytes.NewReader(good)); err != nil {
		t.Fatalf("the good snapshot is rejected: %v", err)
	}
	for n := 0; n < len(good); n++ {
		_, err := InspectSnapshot(bytes.NewReader(good[:n]))
		if err == nil {
			t.Fatalf("the first %d of %d bytes were accepted as a snapshot", n, len(good))
		}
		if !errors.Is(err, ErrCorruptSnapshot) {
			t.Fatalf("prefix of %d bytes: error %q does not wrap ErrCorruptSnapshot", n, err)
		}
	}
}

// checkIndependently is a second, deliberately plain reading of the snapshot format: one
// gzip member and nothing after it, a tar with each member at most once, meta.json that
// parses, SHA256SUMS listing meta.json and state.bin with matching sums (and matching
// every other member it lists), and a non-empty SHA256SUMS.sealed.
func checkIndependently(data []byte) (SnapshotInfo, error) {
	var info SnapshotInfo
	rd := bytes.NewReader(data)
	zr, err := gzip.NewReader(rd)
	if err != nil {
		return info, err
	}
	zr.Multistream(false)
	tarData, err := io.ReadAll(zr)
	if err != nil {
		return info, err
	}
	if rd.Len() != 0 {
		return info, fmt.Errorf("%d bytes after the gzip member", rd.Len())
	}
	members := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(tarData))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return info, err
		}
		if _, dup := members[hdr.Name]; dup {
			return info, fmt.Errorf("%s twice", hdr.Name)
		}
		if members[hdr.Name], err = io.ReadAll(tr); err != nil {
			return info, err
		}
	}
	meta, ok := members["meta.json"]
	if !ok {
		return info, errors.New("no meta.json")
	}
	if err := json.Unmarshal(meta, &info); err != nil {
		return info, err
	}
	if _, ok := members["state.bin"]; !ok {
		return info, errors.New("no state.bin")
	}
	if len(members["SHA256SUMS.sealed"]) == 0 {
		return info, errors.New("no SHA256SUMS.sealed")
	}
	sums, ok := members["SHA256SUMS"]
	if !ok {
		return info, errors.New("no SHA256SUMS")
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(strings.TrimSpace(line), "  ")
		content, present := members[name]
		if !ok || !present {
			return info, fmt.Errorf("bad sums line %q", line)
		}
		if actual := sha256.Sum256(content); !strings.EqualFold(hex.EncodeToString(actual[:]), sum) {
			return info, fmt.Errorf("%s does not match its sum", name)
		}
		listed[name] = true
	}
	if !listed["meta.json"] || !listed["state.bin"] {
		return info, errors.New("meta.json or state.bin not listed in SHA256SUMS")
	}
	return info, nil
}

func FuzzInspectSnapshot(f *testing.F) {
	good := fakeSnapshot(f, nil)
	if _, err := checkIndependently(good); err != nil {
		f.Fatalf("the independent check rejects the good snapshot: %v", err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x1f, 0x8b})
	f.Add(fakeSnapshot(f, func(m []member) []member { return []member{m[0], m[1], m[1], m[2], m[3]} }))
	f.Add(fakeSnapshot(f, func(m []member) []member {
		m[2].data = []byte(fmt.Sprintf("%x  meta.json\n", sha256.Sum256(m[0].data)))
		return m
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Must never panic or hang; what it accepts must pass the independent reading,
		// and report the meta.json that is actually in the archive.
		info, err := InspectSnapshot(bytes.NewReader(data))
		if err != nil {
			return
		}
		want, oracleErr := checkIndependently(data)
		if oracleErr != nil {
			t.Fatalf("InspectSnapshot accepted a snapshot the independent check rejects: %v", oracleErr)
		}
		got := info
		got.StateBytes = 0 // measured, not in meta.json
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("InspectSnapshot reported %+v, meta.json says %+v", info, want)
		}
	})
}
