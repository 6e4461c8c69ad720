package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// keygen makes a key pair with `lifeboat keygen` and returns the private key file and the
// one-line public key it printed.
func keygen(t *testing.T, dir, name string) (privFile, pub string) {
	t.Helper()
	privFile = filepath.Join(dir, name+".pem")
	r := mustRun(t, 0, nil, "keygen", "--private-key-file", privFile, "--public-key-file", filepath.Join(dir, name+".pub"))
	m := regexp.MustCompile(`(?m)^(ed25519:\S+)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("keygen printed no public key:\n%s", r)
	}
	if fi, err := os.Stat(privFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi, err)
	}
	return privFile, m[1]
}

// minioObject reads one object of the MinIO destination (key under its prefix).
func minioObject(t *testing.T, s *vaultSetup, key string) []byte {
	t.Helper()
	obj, err := s.minio.Client().GetObject(context.Background(), "backups", "lifeboat/"+key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	raw, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s from MinIO: %v", key, err)
	}
	return raw
}

func putMinIO(t *testing.T, s *vaultSetup, key string, data []byte) {
	t.Helper()
	if _, err := s.minio.Client().PutObject(context.Background(), "backups", "lifeboat/"+key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// plant writes a backup into MinIO the way someone with write access to the bucket but
// without the signing key could: the genuine snapshot under a newer id, with a manifest
// whose size and sha256 are right. sign decides what becomes of its signature.
func plant(t *testing.T, s *vaultSetup, genuine *catalog.Manifest, after time.Duration, suffix string, sign func(*catalog.Manifest) []byte) string {
	t.Helper()
	m := *genuine
	m.ID = "vault-" + genuine.Created.Add(after).UTC().Format(catalog.IDTimeLayout) + "-" + suffix
	m.Created, m.Finished = genuine.Created.Add(after), genuine.Finished.Add(after)
	putMinIO(t, s, m.DataObjectKey(), minioObject(t, s, genuine.DataObjectKey()))
	putMinIO(t, s, m.Key(), sign(&m))
	return m.ID
}

// Backups are signed where they are taken; restore, verify, drill and auto-restore, given
// the public key, refuse a backup planted in the bucket by a writer without the signing
// key (unsigned, signed by another key, or a genuine signature over changed content) and
// restore the genuine one, saying why.
func TestSignedBackupsRefusePlantedOnes(t *testing.T) {
	t.Parallel() // waits on servers most of the time (main_test.go)
	flavor := testenv.OpenBao
	keys := t.TempDir()
	privFile, pub := keygen(t, keys, "signing")
	otherFile, _ := keygen(t, keys, "attacker")
	// keygen never overwrites a key.
	if r := mustRun(t, 1, nil, "keygen", "--private-key-file", privFile); !strings.Contains(r.stderr, "exists") {
		t.Fatalf("keygen over an existing key:\n%s", r)
	}

	s := newVaultSetup(t, flavor, fmt.Sprintf("signing:\n  privateKey: {file: %s}\n", privFile))
	// Where backups are read: the public key only, and the drill settings.
	readConfig := strings.Replace(readFile(t, s.config), fmt.Sprintf("  privateKey: {file: %s}\n", privFile),
		fmt.Sprintf("  publicKeys: [%q]\n", pub), 1)
	readConfig = strings.Replace(readConfig, "    vault:\n", fmt.Sprintf(`    drill:
      vault:
        binary: %s
        unsealKeys: {file: %s}
        secrets: [secret/data/app/db]
    vault:
`, testenv.Binary(t, string(flavor)), s.keysFile), 1)
	reader := filepath.Join(s.dir, "reader.yaml")
	writeFile(t, reader, readConfig)
	read := func(t *testing.T, want int, args ...string) run {
		t.Helper()
		return mustRun(t, want, s.env, append([]string{"--config", reader}, args...)...)
	}

	secrets := seed(t, s.vault.Client())
	s.lifeboat(t, 0, "backup", "vault")
	genuineID := listBackups(t, s)["minio"][0].ID
	raw := minioObject(t, s, catalog.ManifestKey("vault", genuineID))
	genuine, err := catalog.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	privPEM, _ := os.ReadFile(privFile)
	key, err := catalog.ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	if genuine.Signature == nil || genuine.Signature.Key != catalog.NewSigner(key).Fingerprint() {
		t.Fatalf("the backup's manifest is not signed by the configured key:\n%s", raw)
	}
	if local := readFile(t, filepath.Join(s.localDir, "vault", genuineID, "manifest.json")); local != string(raw) {
		t.Fatalf("the two copies' manifests differ:\nlocal %s\nminio %s", local, raw)
	}

	otherPEM, _ := os.ReadFile(otherFile)
	otherKey, err := catalog.ParsePrivateKey(otherPEM)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := plant(t, s, genuine, time.Hour, "0001", func(m *catalog.Manifest) []byte {
		m.Signature = nil
		b, err := catalog.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
	foreign := plant(t, s, genuine, 2*time.Hour, "0002", func(m *catalog.Manifest) []byte {
		b, err := catalog.EncodeSigned(m, catalog.NewSigner(otherKey))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
	// The genuine signature kept over a changed id: a forgery.
	forged := plant(t, s, genuine, 3*time.Hour, "0003", func(m *catalog.Manifest) []byte {
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		v["id"], v["created"] = m.ID, m.Created.Format(time.RFC3339Nano)
		b, _ := json.Marshal(v)
		return b
	})
	reasons := map[string]string{
		unsigned: "has no signature",
		foreign:  "is signed by key " + catalog.ShortFingerprint(catalog.NewSigner(otherKey).Fingerprint()) + ", which is not in signing.publicKeys",
		forged:   "the signature does not match the manifest",
	}

	// A secret changed after the backup: only a restore brings the backed-up value back.
	putKV(t, s.vault.Client(), "app/db", "changed-after-backup")

	// verify latest: the genuine backup verifies, signed; the planted ones are reported.
	r := read(t, 2, "verify", "latest")
	for _, want := range []string{genuineID + " in local: OK", genuineID + " in minio: OK", "signed by " + catalog.ShortFingerprint(genuine.Signature.Key)} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("verify latest lacks %q:\n%s", want, r)
		}
	}
	for id, why := range reasons {
		if !strings.Contains(r.stdout, id+" in minio: DAMAGED: ") || !strings.Contains(r.stdout, why) {
			t.Fatalf("verify latest does not refuse %s with %q:\n%s", id, why, r)
		}
	}
	// An explicit id is refused with the reason and what to do.
	r = read(t, 1, "verify", unsigned)
	if !strings.Contains(r.stderr, "backup "+unsigned+" has no signature") || !strings.Contains(r.stderr, "--allow-unsigned") {
		t.Fatalf("verify of the unsigned backup:\n%s", r)
	}

	// --allow-unsigned accepts the unsigned one (it is the genuine snapshot, so it verifies).
	r = read(t, 0, "verify", unsigned, "--allow-unsigned", "--destination", "minio")
	if !strings.Contains(r.stdout, unsigned+" in minio: OK") || !strings.Contains(r.stdout, "unsigned;") {
		t.Fatalf("verify --allow-unsigned of the unsigned backup:\n%s", r)
	}

	// restore latest passes over the planted backups and restores the genuine one.
	r = read(t, 0, "restore", "vault", "--snapshot", "latest")
	for id := range reasons {
		if !strings.Contains(r.stdout, "note: "+id+" in minio is DAMAGED, not used") {
			t.Fatalf("restore does not say it refused %s:\n%s", id, r)
		}
	}
	if !strings.Contains(r.stdout, "restored backup "+genuineID) || !strings.Contains(r.stdout, "signature: signed by") {
		t.Fatalf("restore did not use the genuine backup:\n%s", r)
	}
	s.vault.WaitActive(s.vault.Nodes[0])
	checkSeeded(t, s.vault.Client(), secrets)

	// Asked for by id: refused, whatever the flags for a bad signature.
	for id, why := range reasons {
		r = read(t, 1, "restore", "vault", "--snapshot", id)
		if !strings.Contains(r.stderr, why) {
			t.Fatalf("restore of %s: want %q:\n%s", id, why, r)
		}
	}
	r = read(t, 1, "restore", "vault", "--snapshot", forged, "--allow-unsigned")
	if !strings.Contains(r.stderr, "refused with or without --allow-unsigned") {
		t.Fatalf("a bad signature with --allow-unsigned:\n%s", r)
	}

	// drill: the newest trusted backup, and a drill record beside it; the manifest, the
	// backup's commit, is not rewritten.
	r = read(t, 0, "drill", "vault")
	if !strings.Contains(r.stdout, genuineID) || !strings.Contains(r.stdout, "passed") {
		t.Fatalf("drill:\n%s", r)
	}
	r = read(t, 1, "drill", "vault", "--backup", foreign)
	if !strings.Contains(r.stderr, reasons[foreign]) {
		t.Fatalf("drill of the foreign-signed backup:\n%s", r)
	}
	dir := filepath.Join(s.localDir, "vault", genuineID)
	if got := readFile(t, filepath.Join(dir, "manifest.json")); got != string(raw) {
		t.Fatalf("the drill rewrote the manifest:\n%s", got)
	}
	records, _ := filepath.Glob(filepath.Join(dir, "drill-*-ok.json"))
	if len(records) != 1 {
		t.Fatalf("drill records in %s: %v", dir, records)
	}
	if rec := readFile(t, records[0]); !strings.Contains(rec, genuineID) || !strings.Contains(rec, `"ok": true`) {
		t.Fatalf("drill record:\n%s", rec)
	}

	// auto-restore of a wiped Vault: the genuine backup, the planted ones reported.
	node := s.vault.Nodes[0]
	node.Stop()
	node.Wipe()
	node.Start()
	r = read(t, 0, "vault", "auto-restore", "--unseal-keys-file", s.keysFile)
	if !strings.Contains(r.stdout, "restored backup "+genuineID) || !strings.Contains(r.stdout, unsigned+" in minio is DAMAGED") {
		t.Fatalf("auto-restore:\n%s", r)
	}
	s.vault.WaitActive(node)
	checkSeeded(t, s.vault.Client(), secrets)

	// Without any public key nothing is checked, and lifeboat says so loudly: the newest
	// (planted, unsigned) backup is listed as good.
	unchecked := filepath.Join(s.dir, "unchecked.yaml")
	writeFile(t, unchecked, strings.Replace(readConfig, fmt.Sprintf("signing:\n  publicKeys: [%q]\n", pub), "", 1))
	r = mustRun(t, 0, s.env, "--config", unchecked, "list", "vault")
	if !strings.Contains(r.stderr, "without checking signatures") || !strings.Contains(r.stdout, forged) {
		t.Fatalf("list without public keys:\n%s", r)
	}
}
