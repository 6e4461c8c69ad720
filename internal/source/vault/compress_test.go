package vault

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault/vaulttest"
)

// gzipped is data gzipped at level with the given optional header fields.
func gzipped(t testing.TB, level int, name, comment string, extra, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Name, zw.Comment, zw.Extra = name, comment, extra
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestStoresUncompressed(t *testing.T) {
	text := bytes.Repeat([]byte(`{"path":"secret/data/app","value":"x"}`), 200)
	stored := gzipped(t, gzip.NoCompression, "", "", nil, text)
	for _, tc := range []struct {
		name string
		head []byte
		want bool
	}{
		{"stored blocks (OpenBao)", stored, true},
		{"stored, with name, comment and extra field", gzipped(t, gzip.NoCompression, "state.tar", "raft", []byte("ex\x00tra"), text), true},
		{"deflated (HashiCorp Vault)", gzipped(t, gzip.DefaultCompression, "", "", nil, text), false},
		{"deflated fastest, with name", gzipped(t, gzip.BestSpeed, "state.tar", "", nil, text), false},
		{"huffman only", gzipped(t, gzip.HuffmanOnly, "", "", nil, text), false},
		{"test snapshot", vaulttest.Snapshot(), false},
		{"empty", nil, false},
		{"header only", stored[:10], false},
		{"not gzip", []byte("PK\x03\x04 this is a zip file, not a snapshot"), false},
		{"not deflate", append([]byte{0x1f, 0x8b, 7}, stored[3:]...), false},
		{"extra field runs past the peek", append([]byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 0xff, 0xff}, make([]byte, 100)...), false},
		{"name never ends", append([]byte{0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 255}, bytes.Repeat([]byte("n"), 100)...), false},
		{"header crc", append(append([]byte{0x1f, 0x8b, 8, 2, 0, 0, 0, 0, 0, 255}, 0xaa, 0xbb), stored[10:]...), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StoresUncompressed(tc.head); got != tc.want {
				t.Errorf("StoresUncompressed = %v, want %v", got, tc.want)
			}
		})
	}
}

// compressDecision keeps every byte of the stream whatever it decides.
func TestCompressDecision(t *testing.T) {
	text := bytes.Repeat([]byte("raft state "), 10000)
	stored := gzipped(t, gzip.NoCompression, "", "", nil, text)
	deflated := gzipped(t, gzip.DefaultCompression, "", "", nil, text)
	for _, tc := range []struct {
		mode string
		in   []byte
		want bool
	}{
		{config.VaultCompressionAuto, stored, true},
		{config.VaultCompressionAuto, deflated, false},
		{"", stored, true},
		{config.VaultCompressionAuto, []byte("x"), false},
		{config.VaultCompressionZstd, deflated, true},
		{config.VaultCompressionNone, stored, false},
	} {
		r, got, err := compressDecision(tc.mode, io.NopCloser(bytes.NewReader(tc.in)), time.Minute)
		if err != nil {
			t.Fatalf("mode %q: %v", tc.mode, err)
		}
		if got != tc.want {
			t.Errorf("mode %q, %d bytes: compress = %v, want %v", tc.mode, len(tc.in), got, tc.want)
		}
		all, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(all, tc.in) {
			t.Errorf("mode %q: the stream lost bytes: read %d of %d (%v)", tc.mode, len(all), len(tc.in), err)
		}
	}
}

// A leader that answers 200 and then sends nothing cannot hold the backup before the
// pipeline's stall guard is watching: auto gives up after the stall timeout.
func TestCompressDecisionStalls(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	start := time.Now()
	_, _, err := compressDecision(config.VaultCompressionAuto, pr, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "sent no snapshot data for 50ms") {
		t.Fatalf("err = %v, want the stall reported", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("gave up after %s", waited)
	}
	// zstd and none do not peek, so they cannot stall here.
	for _, mode := range []string{config.VaultCompressionZstd, config.VaultCompressionNone} {
		if _, _, err := compressDecision(mode, pr, time.Nanosecond); err != nil {
			t.Errorf("mode %s: %v", mode, err)
		}
	}
}

// FuzzStoresUncompressed: any bytes are answered without a panic; a gzip Go writes at
// NoCompression is always seen as stored, and compressible data deflated at any level
// never is.
func FuzzStoresUncompressed(f *testing.F) {
	f.Add([]byte(nil), "", "", []byte(nil), 0)
	f.Add([]byte("secret"), "state.tar", "comment", []byte("xx"), 6)
	f.Add(vaulttest.Snapshot(), "", "", []byte(nil), 1)
	f.Fuzz(func(t *testing.T, data []byte, name, comment string, extra []byte, level int) {
		StoresUncompressed(data)
		if len(extra) > 1<<10 {
			extra = extra[:1<<10]
		}
		level %= 10 // 0 (none) to 9 (best)
		if level < 0 {
			level = -level
		}
		// gzip header strings are Latin-1 without NUL: the writer refuses others.
		name, comment = latin1(name), latin1(comment)
		if got := StoresUncompressed(gzipped(t, gzip.NoCompression, name, comment, extra, data)); !got && len(name)+len(comment)+len(extra) < gzipHeaderPeek-64 {
			t.Errorf("NoCompression gzip not seen as stored")
		}
		if level > 0 {
			compressible := bytes.Repeat([]byte("abcd"), 64+len(data))
			if StoresUncompressed(gzipped(t, level, name, comment, extra, compressible)) {
				t.Errorf("level %d gzip of compressible data seen as stored", level)
			}
		}
	})
}

func latin1(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r > 0 && r < 0x100 {
			out = append(out, r)
		}
	}
	return string(out)
}
