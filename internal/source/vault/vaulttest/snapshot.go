// Package vaulttest holds test data shaped like what a Vault/OpenBao server produces, for
// tests of the code around the Vault source that have no server of their own.
package vaulttest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
)

// Snapshot returns a small archive shaped like a raft snapshot (gzip tar with meta.json,
// state.bin, SHA256SUMS and SHA256SUMS.sealed) that passes lifeboat's snapshot checks.
// Real snapshots come from the real servers in internal/testenv; this one is for unit
// tests of the pipeline, verify and serve.
func Snapshot() []byte {
	meta := []byte(`{"Version":1,"ID":"2-42-1700000000000","Index":42,"Term":2,"Size":12000}`)
	state := bytes.Repeat([]byte("state-bytes!"), 1000)
	sums := fmt.Sprintf("%x  meta.json\n%x  state.bin\n", sha256.Sum256(meta), sha256.Sum256(state))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range []struct {
		name string
		data []byte
	}{{"meta.json", meta}, {"state.bin", state}, {"SHA256SUMS", []byte(sums)}, {"SHA256SUMS.sealed", []byte("sealed")}} {
		// Writes into a bytes.Buffer cannot fail.
		_ = tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o600, Size: int64(len(m.data))})
		_, _ = tw.Write(m.data)
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}
