package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/source"
	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/file"
)

// fakeSource streams fixed bytes; the real Vault and PostgreSQL sources are exercised
// end to end in their own packages and in test/.
type fakeSource struct {
	data       []byte
	compress   bool
	readErrAt  int   // >0: the stream fails after this many bytes
	inspectErr error // returned by Inspect after reading everything
	finishErr  error
}

func (f *fakeSource) Name() string { return "vault" }
func (f *fakeSource) Kind() string { return "vault" }
func (f *fakeSource) Open(context.Context) (*source.Artifact, error) {
	var r io.Reader = bytes.NewReader(f.data)
	if f.readErrAt > 0 {
		r = io.MultiReader(bytes.NewReader(f.data[:f.readErrAt]), errReader{errors.New("connection reset by peer")})
	}
	return &source.Artifact{
		Body:     io.NopCloser(r),
		Ext:      "snap",
		Compress: f.compress,
		Inspect: func(r io.Reader) error {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			return f.inspectErr
		},
		Finish: func(_ context.Context, m *catalog.Manifest) error {
			m.Vault = &catalog.VaultInfo{RaftIndex: 7}
			return f.finishErr
		},
	}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// failingStore fails Put after reading `after` bytes, like a destination that dies mid-upload.
type failingStore struct {
	store.Store
	after int64
}

func (f failingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if !strings.HasSuffix(key, catalog.ManifestName) {
		_, _ = io.CopyN(io.Discard, r, f.after)
		return errors.New("connection refused: destination died")
	}
	return f.Store.Put(ctx, key, r)
}

// stallingStore accepts nothing until its context ends, like a black-holed endpoint.
type stallingStore struct{ store.Store }

func (s stallingStore) Put(ctx context.Context, _ string, _ io.Reader) error {
	<-ctx.Done()
	return ctx.Err()
}

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
	res := p.Run(context.Background(), &fakeSource{data: data}, dests)
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
	dests := []Destination{{Name: "good", Store: good}, {Name: "bad", Store: failingStore{Store: bad, after: 1 << 20}}}
	res := (&Pipeline{BufferSize: 32 << 10}).Run(context.Background(), &fakeSource{data: data}, dests)
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
		src  *fakeSource
		want string
	}{
		{"inspect rejects", &fakeSource{data: randomBytes(2 << 20), inspectErr: errors.New("corrupt raft snapshot: truncated")}, "truncated"},
		{"stream breaks", &fakeSource{data: randomBytes(2 << 20), readErrAt: 1 << 20}, "connection reset"},
		{"late failure", &fakeSource{data: randomBytes(1 << 20), finishErr: errors.New("pg_dump exited with status 1")}, "pg_dump exited"},
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

func TestRunDetachesAStalledDestination(t *testing.T) {
	good := newFileStore(t)
	dests := []Destination{{Name: "hung", Store: stallingStore{newFileStore(t)}}, {Name: "good", Store: good}}
	res := (&Pipeline{StallTimeout: 300 * time.Millisecond}).Run(context.Background(), &fakeSource{data: randomBytes(3 << 20)}, dests)
	if res.Status() != StatusPartial || !res.Destinations[1].OK {
		t.Fatalf("status %s, results %+v", res.Status(), res.Destinations)
	}
	if !strings.Contains(res.Destinations[0].Err.Error(), "accepted no data") {
		t.Fatalf("stall error = %v", res.Destinations[0].Err)
	}
}

func TestRunAllDestinationsFail(t *testing.T) {
	dests := []Destination{{Name: "x", Store: failingStore{Store: newFileStore(t), after: 100}}}
	res := (&Pipeline{}).Run(context.Background(), &fakeSource{data: randomBytes(4 << 20)}, dests)
	if res.Status() != StatusFailed {
		t.Fatalf("status = %s", res.Status())
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
	res := p.Run(context.Background(), &fakeSource{data: data, compress: true}, []Destination{{Name: "a", Store: st}})
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
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := now.Add(-72 * time.Hour)
	p := &Pipeline{Now: func() time.Time { return clock }}
	dest := []Destination{{Name: "a", Store: st, Retention: catalog.Policy{KeepLast: 2}}}
	var ids []string
	for i := 0; i < 4; i++ {
		res := p.Run(context.Background(), &fakeSource{data: randomBytes(1000)}, dest)
		if res.Status() != StatusOK {
			t.Fatal(res.Error())
		}
		ids = append(ids, res.ID)
		clock = clock.Add(time.Hour)
	}
	backups, _, err := catalog.List(context.Background(), st, "vault")
	if err != nil {
		t.Fatal(err)
	}
	if len(backups) != 2 || backups[0].ID != ids[3] || backups[1].ID != ids[2] {
		t.Fatalf("kept %v, want the newest two of %v", backups, ids)
	}
}

// hangingBody sends some bytes, then blocks until closed, like a hung server.
type hangingBody struct {
	sent   bool
	closed chan struct{}
}

func (h *hangingBody) Read(p []byte) (int, error) {
	if !h.sent {
		h.sent = true
		return copy(p, "some bytes"), nil
	}
	<-h.closed
	return 0, errors.New("use of closed connection")
}

func (h *hangingBody) Close() error {
	select {
	case <-h.closed:
	default:
		close(h.closed)
	}
	return nil
}

type hangingSource struct{ fakeSource }

func (h *hangingSource) Open(context.Context) (*source.Artifact, error) {
	return &source.Artifact{Body: &hangingBody{closed: make(chan struct{})}, Ext: "snap"}, nil
}

func TestRunAbandonsAHungSource(t *testing.T) {
	st := newFileStore(t)
	res := (&Pipeline{StallTimeout: 200 * time.Millisecond}).Run(context.Background(), &hangingSource{}, []Destination{{Name: "a", Store: st}})
	if res.Status() != StatusFailed || !strings.Contains(res.Error().Error(), "sent no data") {
		t.Fatalf("status %s: %v", res.Status(), res.Error())
	}
	if objs, _ := st.List(context.Background(), ""); len(objs) != 0 {
		t.Fatalf("hung source left %v", objs)
	}
}

type extrasSource struct{ fakeSource }

func (e *extrasSource) Open(ctx context.Context) (*source.Artifact, error) {
	art, err := e.fakeSource.Open(ctx)
	if err != nil {
		return nil, err
	}
	art.Extras = func(context.Context) ([]source.Extra, error) {
		return []source.Extra{{Name: "globals.sql", Data: []byte("CREATE ROLE app PASSWORD 'md5secret';")}}, nil
	}
	return art, nil
}

func TestRunStoresExtrasWithTheSameEncryption(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	st := newFileStore(t)
	p := &Pipeline{Encryption: &Encryption{Recipients: []age.Recipient{id.Recipient()}, Fingerprints: []string{id.Recipient().String()}}}
	res := p.Run(context.Background(), &extrasSource{fakeSource{data: randomBytes(1000), compress: true}}, []Destination{{Name: "a", Store: st}})
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
