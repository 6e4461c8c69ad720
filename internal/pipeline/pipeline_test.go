package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"path"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/source/sourcetest"
	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/faulty"
	"github.com/lifeboat-backup/lifeboat/internal/store/file"
)

// vaultSource streams data as a vault source whose Finish records a raft index.
func vaultSource(data []byte) *sourcetest.Source {
	src := sourcetest.Vault(data)
	src.Record = func(m *catalog.Manifest) { m.Vault = &catalog.VaultInfo{RaftIndex: 7} }
	return src
}

// wait is the result of a run the test let go on, or fails the test if the run is stuck.
func wait(t *testing.T, done <-chan *Result) *Result {
	t.Helper()
	select {
	case res := <-done:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not end after the clock passed the stall timeout")
		return nil
	}
}

func with(s *sourcetest.Source, set func(*sourcetest.Source)) *sourcetest.Source {
	set(s)
	return s
}

// dataKeys are the data objects of every backup, not their manifests or extras.
const dataKeys = "*/*/data.*"

// dying is a destination that dies after taking `after` bytes of the data object.
func dying(st store.Store, after int64) *faulty.Store {
	f := faulty.New(st)
	f.Add(faulty.Fault{Op: faulty.Put, Key: dataKeys, AfterBytes: after, Err: errors.New("connection refused: destination died")})
	return f
}

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newFileStore(t *testing.T) store.Store {
	t.Helper()
	st, err := file.New(t.TempDir(), file.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(16)) // compressible, not constant
	}
	return b
}

func readAll(t *testing.T, st store.Store, key string) []byte {
	t.Helper()
	rc, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %s from %s: %v", key, st, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRunFansOutFromOneRead(t *testing.T) {
	data := randomBytes(5<<20 + 123)
	dests := []Destination{{Name: "a", Store: newFileStore(t)}, {Name: "b", Store: newFileStore(t)}, {Name: "c", Store: newFileStore(t)}}
	p := &Pipeline{BufferSize: 64 << 10}
	res := p.Run(context.Background(), vaultSource(data), dests)
	if res.Status() != StatusOK {
		t.Fatalf("status %s: %v", res.Status(), res.Error())
	}
	sum := sha256.Sum256(data)
	if res.Manifest.SHA256 != hex.EncodeToString(sum[:]) || res.Manifest.Size != int64(len(data)) {
		t.Fatalf("manifest sha/size = %s/%d", res.Manifest.SHA256, res.Manifest.Size)
	}
	if res.Manifest.Vault == nil || res.Manifest.Vault.RaftIndex != 7 {
		t.Fatalf("Finish metadata not recorded: %+v", res.Manifest.Vault)
	}
	for _, d := range dests {
		if got := readAll(t, d.Store, res.Manifest.DataObjectKey()); !bytes.Equal(got, data) {
			t.Fatalf("%s holds %d bytes, want the %d read", d.Name, len(got), len(data))
		}
		latest, err := catalog.Latest(context.Background(), d.Store, "vault")
		if err != nil || latest.ID != res.ID {
			t.Fatalf("%s latest = %v, %v", d.Name, latest.ID, err)
		}
	}
}

func TestRunFailingDestinationDoesNotStopOthers(t *testing.T) {
	data := randomBytes(3 << 20)
	good := newFileStore(t)
	bad := newFileStore(t)
	dests := []Destination{{Name: "good", Store: good}, {Name: "bad", Store: dying(bad, 1<<20)}}
	res := (&Pipeline{BufferSize: 32 << 10}).Run(context.Background(), vaultSource(data), dests)
	if res.Status() != StatusPartial {
		t.Fatalf("status = %s, want partial", res.Status())
	}
	if !res.Destinations[0].OK || res.Destinations[1].OK {
		t.Fatalf("results = %+v", res.Destinations)
	}
	if !strings.Contains(res.Error().Error(), "destination bad") || !strings.Contains(res.Error().Error(), "destination died") {
		t.Fatalf("error does not name the failed destination and cause: %v", res.Error())
	}
	if got := readAll(t, good, res.Manifest.DataObjectKey()); !bytes.Equal(got, data) {
		t.Fatal("good destination incomplete")
	}
	if objs, _ := bad.List(context.Background(), ""); len(objs) != 0 {
		t.Fatalf("failed destination holds %v", objs)
	}
}

func TestRunCommitsNothingWhenTheArtifactIsBad(t *testing.T) {
	tests := []struct {
		name string
		src  *sourcetest.Source
		want string
	}{
		{"inspect rejects", with(vaultSource(randomBytes(2<<20)), func(s *sourcetest.Source) { s.InspectErr = errors.New("corrupt raft snapshot: truncated") }), "truncated"},
		{"stream breaks", with(vaultSource(randomBytes(2<<20)), func(s *sourcetest.Source) { s.ReadErr, s.FailAt = sourcetest.ErrReset, 1<<20 }), "connection reset"},
		{"late failure", with(vaultSource(randomBytes(1<<20)), func(s *sourcetest.Source) { s.FinishErr = errors.New("pg_dump exited with status 1") }), "pg_dump exited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newFileStore(t), newFileStore(t)
			res := (&Pipeline{BufferSize: 64 << 10}).Run(context.Background(), tt.src, []Destination{{Name: "a", Store: a}, {Name: "b", Store: b}})
			if res.Status() != StatusFailed || res.Manifest != nil {
				t.Fatalf("status = %s, manifest %v", res.Status(), res.Manifest)
			}
			if err := res.Error(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v does not contain %q", err, tt.want)
			}
			for _, st := range []store.Store{a, b} {
				if objs, _ := st.List(context.Background(), ""); len(objs) != 0 {
					t.Fatalf("%s holds %v after a failed run", st, objs)
				}
			}
		})
	}
}

// A destination that takes nothing for the stall timeout is detached and the others go on.
// The clock is fake: the test advances it once the healthy destination holds the whole
// object, so only the hung one can be found stalled.
func TestRunDetachesAStalledDestination(t *testing.T) {
	good := newFileStore(t)
	hung := faulty.New(newFileStore(t))
	hung.Add(faulty.Fault{Op: faulty.Put, Key: dataKeys, Block: make(chan struct{})})
	dests := []Destination{{Name: "hung", Store: hung}, {Name: "good", Store: good}}
	clk := clocktest.New(t0)
	p := &Pipeline{StallTimeout: time.Minute, Clock: clk}
	done := make(chan *Result)
	go func() { done <- p.Run(context.Background(), vaultSource(randomBytes(3<<20)), dests) }()

	waitForObject(t, good, dataKeys)
	clk.Advance(time.Minute)
	res := wait(t, done)
	if res.Status() != StatusPartial || !res.Destinations[1].OK {
		t.Fatalf("status %s, results %+v", res.Status(), res.Destinations)
	}
	if !strings.Contains(res.Destinations[0].Err.Error(), "accepted no data for 1m0s") {
		t.Fatalf("stall error = %v", res.Destinations[0].Err)
	}
}

// waitForObject waits (in real time) until st holds an object matching pattern.
func waitForObject(t *testing.T, st store.Store, pattern string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		objs, _ := st.List(context.Background(), "")
		for _, o := range objs {
			if ok, _ := path.Match(pattern, o.Key); ok {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never held an object %s", st, pattern)
}

// When every destination fails, each keeps its own reason: "every destination failed"
// must not hide why.
func TestRunAllDestinationsFail(t *testing.T) {
	dests := []Destination{{Name: "x", Store: dying(newFileStore(t), 100)}, {Name: "y", Store: dying(newFileStore(t), 5000)}}
	res := (&Pipeline{}).Run(context.Background(), vaultSource(randomBytes(40<<20)), dests)
	if res.Status() != StatusFailed {
		t.Fatalf("status = %s", res.Status())
	}
	for _, d := range res.Destinations {
		if d.Err == nil || !strings.Contains(d.Err.Error(), "destination died") {
			t.Errorf("%s: %v, want the destination's own error", d.Name, d.Err)
		}
	}
}

func TestRunCompressesAndEncrypts(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(2 << 20)
	st := newFileStore(t)
	p := &Pipeline{CompressionLevel: zstd.SpeedDefault, Encryption: &Encryption{Recipients: []age.Recipient{id.Recipient()}, Fingerprints: []string{id.Recipient().String()}}}
	res := p.Run(context.Background(), with(vaultSource(data), func(s *sourcetest.Source) { s.Compress = true }), []Destination{{Name: "a", Store: st}})
	if res.Status() != StatusOK {
		t.Fatal(res.Error())
	}
	m := res.Manifest
	if m.DataKey != "data.snap.zst.age" || m.Compression != catalog.CompressionZstd || m.Encryption == nil || m.Encryption.Recipients[0] != id.Recipient().String() {
		t.Fatalf("manifest = %+v", m)
	}
	stored := readAll(t, st, m.DataObjectKey())
	if sum := sha256.Sum256(stored); hex.EncodeToString(sum[:]) != m.SHA256 {
		t.Fatal("manifest sha256 is not the stored object's")
	}
	plain, err := age.Decrypt(bytes.NewReader(stored), id)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(plain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
	if len(stored) >= len(data) {
		t.Fatalf("not compressed: %d >= %d", len(stored), len(data))
	}
}

func TestRunAppliesRetentionAfterCommit(t *testing.T) {
	st := newFileStore(t)
	clk := clocktest.New(t0.Add(-72 * time.Hour))
	p := &Pipeline{Clock: clk}
	dest := []Destination{{Name: "a", Store: st, Retention: catalog.Policy{KeepLast: 2}}}
	var ids []string
	for i := 0; i < 4; i++ {
		res := p.Run(context.Background(), vaultSource(randomBytes(1000)), dest)
		if res.Status() != StatusOK {
			t.Fatal(res.Error())
		}
		ids = append(ids, res.ID)
		clk.Advance(time.Hour)
	}
	backups, _, err := catalog.List(context.Background(), st, "vault")
	if err != nil {
		t.Fatal(err)
	}
	if len(backups) != 2 || backups[0].ID != ids[3] || backups[1].ID != ids[2] {
		t.Fatalf("kept %v, want the newest two of %v", backups, ids)
	}
}

// A source that stops sending is abandoned after the stall timeout, and nothing is
// committed. The clock is fake, as above.
func TestRunAbandonsAHungSource(t *testing.T) {
	st := newFileStore(t)
	src := vaultSource(randomBytes(1000))
	src.Gate = make(chan struct{}) // never opens: the source hangs after GateAfter bytes
	clk := clocktest.New(t0)
	p := &Pipeline{StallTimeout: time.Minute, Clock: clk}
	done := make(chan *Result)
	go func() { done <- p.Run(context.Background(), src, []Destination{{Name: "a", Store: st}}) }()

	// Stopped timers: the stall guard's over the first read and the destination's over
	// the first write; the guard's over the second read is the one left.
	clk.BlockUntilStopped(t, 2)
	clk.BlockUntil(t, 1)
	clk.Advance(time.Minute)
	res := wait(t, done)
	if res.Status() != StatusFailed || !strings.Contains(res.Error().Error(), "sent no data for 1m0s") {
		t.Fatalf("status %s: %v", res.Status(), res.Error())
	}
	if objs, _ := st.List(context.Background(), ""); len(objs) != 0 {
		t.Fatalf("hung source left %v", objs)
	}
}

func TestRunStoresExtrasWithTheSameEncryption(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	st := newFileStore(t)
	p := &Pipeline{Encryption: &Encryption{Recipients: []age.Recipient{id.Recipient()}, Fingerprints: []string{id.Recipient().String()}}}
	res := p.Run(context.Background(), with(vaultSource(randomBytes(1000)), func(s *sourcetest.Source) {
		s.Compress = true
		s.Extras = []source.Extra{{Name: "globals.sql", Data: []byte("CREATE ROLE app PASSWORD 'md5secret';")}}
	}), []Destination{{Name: "a", Store: st}})
	if res.Status() != StatusOK {
		t.Fatal(res.Error())
	}
	m := res.Manifest
	if len(m.Extras) != 1 || m.Extras[0].Name != "globals.sql.zst.age" {
		t.Fatalf("extras = %+v", m.Extras)
	}
	stored := readAll(t, st, m.ExtraKey(m.Extras[0].Name))
	if bytes.Contains(stored, []byte("md5secret")) {
		t.Fatal("extra stored in the clear")
	}
	rc, err := UnwrapReader(io.NopCloser(bytes.NewReader(stored)), Unwrap{Encrypted: true, Compressed: true, SHA256: m.Extras[0].SHA256, Size: m.Extras[0].Size}, []age.Identity{id})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(rc)
	if err != nil || !bytes.Contains(plain, []byte("CREATE ROLE app")) {
		t.Fatalf("extra round trip: %q %v", plain, err)
	}
}

// checkReading is a source whose check reads exactly n bytes and stops, as a tar reader
// does at the archive's end marker.
type checkReading struct {
	source.Source
	n int
}

func (s checkReading) Open(ctx context.Context) (*source.Artifact, error) {
	art, err := s.Source.Open(ctx)
	if err == nil {
		art.Inspect = func(r io.Reader) error {
			_, err := io.ReadFull(r, make([]byte, s.n))
			return err
		}
	}
	return art, err
}

// A check that reads the whole stream and returns before the writer has closed it is
// done, not "stopped early"; one that stops with bytes left is refused.
func TestRunCheckThatStopsAtTheEnd(t *testing.T) {
	data := randomBytes(3<<20 + 17)
	// A slow destination and a small ring keep the writer busy after the check has read
	// the last byte, the moment a check must not be judged.
	slow := []Destination{{Name: "a", Store: slowReading{newFileStore(t)}}}
	for i := range 5 {
		res := (&Pipeline{RingSize: 256 << 10}).Run(context.Background(), checkReading{vaultSource(data), len(data)}, slow)
		if res.Status() != StatusOK {
			t.Fatalf("run %d: a check that read everything: %v", i, res.Error())
		}
	}
	res := (&Pipeline{}).Run(context.Background(), checkReading{vaultSource(data), len(data) / 2}, []Destination{{Name: "a", Store: newFileStore(t)}})
	if res.Status() != StatusFailed || !strings.Contains(res.Error().Error(), "stopped reading before the end") {
		t.Fatalf("a check that stopped half-way: %s, %v", res.Status(), res.Error())
	}
}

// slowReading is a store whose Put reads its stream slowly.
type slowReading struct{ store.Store }

func (s slowReading) Put(ctx context.Context, key string, r io.Reader) error {
	return s.Store.Put(ctx, key, readerFunc(func(p []byte) (int, error) {
		time.Sleep(time.Millisecond)
		return r.Read(p[:min(len(p), 64<<10)])
	}))
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
