package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// t0 is the fixed "now" of catalog's tests.
var t0 = time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)

// testManifest returns a valid manifest for a backup of source created at created.
func testManifest(source string, created time.Time, data []byte) *Manifest {
	sum := sha256.Sum256(data)
	id := fmt.Sprintf("%s-%s-%04x", source, created.UTC().Format(IDTimeLayout), created.Nanosecond()%0xffff)
	return &Manifest{
		FormatVersion:   FormatVersion,
		ID:              id,
		Source:          SourceRef{Kind: "vault", Name: source},
		Created:         created.UTC(),
		Finished:        created.UTC().Add(time.Minute),
		DataKey:         "data.snap",
		Size:            int64(len(data)),
		SHA256:          hex.EncodeToString(sum[:]),
		LifeboatVersion: "test",
	}
}

// putBackup stores a committed backup (data, then manifest) and returns its manifest.
func putBackup(t *testing.T, st *memStore, source string, created time.Time) *Manifest {
	t.Helper()
	data := []byte("snapshot of " + created.String())
	m := testManifest(source, created, data)
	ctx := context.Background()
	if err := st.Put(ctx, m.DataObjectKey(), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	enc, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, m.Key(), bytes.NewReader(enc)); err != nil {
		t.Fatal(err)
	}
	return m
}
