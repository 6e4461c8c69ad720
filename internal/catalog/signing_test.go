package catalog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// signed returns the stored form of a full manifest signed by key.
func signed(t *testing.T, key ed25519.PrivateKey) []byte {
	t.Helper()
	m := fullManifest()
	m.Vault = &VaultInfo{RaftIndex: 1 << 60, ClusterID: "c<1>&"} // a number past float64 precision, HTML characters
	data, err := EncodeSigned(m, NewSigner(key))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// edit decodes the stored JSON, lets f change it and encodes it again (keys reordered,
// whitespace gone: neither matters to the signature).
func edit(t *testing.T, data []byte, f func(map[string]any)) []byte {
	t.Helper()
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	f(v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignatureCheck(t *testing.T) {
	key, other := newKey(t), newKey(t)
	good := signed(t, key)
	sig := func(v map[string]any) map[string]any { return v["signature"].(map[string]any) }
	tests := []struct {
		name  string
		data  []byte
		trust *Trust
		want  error // nil: accepted
	}{
		{"signed by a trusted key", good, NewTrust([]ed25519.PublicKey{pubOf(other), pubOf(key)}, false), nil},
		{"reformatted, same content", edit(t, good, func(map[string]any) {}), NewTrust([]ed25519.PublicKey{pubOf(key)}, false), nil},
		{"no keys configured accepts", good, NewTrust(nil, false), nil},
		{"nil trust accepts", good, nil, nil},
		{"sha256 changed", edit(t, good, func(v map[string]any) { v["sha256"] = strings.Repeat("a", 64) }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, false), ErrBadSignature},
		{"size changed", edit(t, good, func(v map[string]any) { v["size"] = json.Number("5") }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, true), ErrBadSignature},
		{"nested field changed", edit(t, good, func(v map[string]any) { v["vault"].(map[string]any)["clusterID"] = "x" }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, false), ErrBadSignature},
		{"field added", edit(t, good, func(v map[string]any) { v["suspicious"] = "" }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, false), ErrBadSignature},
		{"field removed", edit(t, good, func(v map[string]any) { delete(v, "encryption") }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, true), ErrBadSignature},
		{"old-style drill record added", edit(t, good, func(v map[string]any) { v["drills"] = []any{} }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, false), ErrBadSignature},
		{"signature value garbage", edit(t, good, func(v map[string]any) { sig(v)["value"] = "!!" }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, true), ErrBadSignature},
		{"algorithm changed", edit(t, good, func(v map[string]any) { sig(v)["algorithm"] = "none" }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, true), ErrBadSignature},
		{"claims a trusted key it was not signed with", signed(t, other),
			&Trust{Keys: map[string]ed25519.PublicKey{Fingerprint(pubOf(other)): pubOf(key)}}, ErrBadSignature},
		{"unknown key", signed(t, other), NewTrust([]ed25519.PublicKey{pubOf(key)}, false), ErrUnknownKey},
		{"unknown key allowed", signed(t, other), NewTrust([]ed25519.PublicKey{pubOf(key)}, true), nil},
		{"unsigned", edit(t, good, func(v map[string]any) { delete(v, "signature") }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, false), ErrUnsigned},
		{"null signature is unsigned", edit(t, good, func(v map[string]any) { v["signature"] = nil }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, false), ErrUnsigned},
		{"unsigned allowed", edit(t, good, func(v map[string]any) { delete(v, "signature") }),
			NewTrust([]ed25519.PublicKey{pubOf(key)}, true), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			err = tt.trust.Check(m)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != nil && (!errors.Is(err, tt.want) || !errors.Is(err, ErrUntrusted)):
				t.Fatalf("err = %v, want %v", err, tt.want)
			case err != nil && !strings.Contains(err.Error(), m.ID):
				t.Errorf("error does not name the backup: %v", err)
			}
		})
	}
}

func TestSignatureCoversFieldsThisBuildDoesNotKnow(t *testing.T) {
	key := newKey(t)
	m := testManifest("vault", t0, []byte("x"))
	body, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	// A newer lifeboat signs a field this build does not read.
	body = edit(t, body, func(v map[string]any) { v["addedLater"] = map[string]any{"b": 1, "a": "<&>"} })
	msg, err := signedMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	signedBody := edit(t, body, func(v map[string]any) {
		v["signature"] = map[string]any{"algorithm": "ed25519", "key": Fingerprint(pubOf(key)),
			"value": ed25519Sig(key, msg)}
	})
	trust := NewTrust([]ed25519.PublicKey{pubOf(key)}, false)
	got, err := Decode(signedBody)
	if err != nil {
		t.Fatal(err)
	}
	if err := trust.Check(got); err != nil {
		t.Fatalf("newer manifest refused: %v", err)
	}
	tampered := edit(t, signedBody, func(v map[string]any) { v["addedLater"].(map[string]any)["b"] = 2 })
	if got, err = Decode(tampered); err != nil {
		t.Fatal(err)
	}
	if err := trust.Check(got); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a changed unknown field: err = %v, want a bad signature", err)
	}
}

func TestDecodeReadsTheSignedForm(t *testing.T) {
	key := newKey(t)
	good := signed(t, key)
	// Duplicate keys: Go keeps the last one; whatever the stored bytes say, the manifest
	// is read from the canonical form the signature was checked over.
	dup := bytes.Replace(good, []byte(`"sha256": "`), []byte(`"sha256": "`+strings.Repeat("b", 64)+`", "sha256": "`), 1)
	m, err := Decode(dup)
	if err != nil {
		t.Fatal(err)
	}
	if err := NewTrust([]ed25519.PublicKey{pubOf(key)}, false).Check(m); err != nil {
		t.Fatalf("a duplicate key that decodes to the signed value: %v", err)
	}
	if m.SHA256 == strings.Repeat("b", 64) {
		t.Fatal("the first of two duplicate keys was used")
	}
}

func ed25519Sig(key ed25519.PrivateKey, msg []byte) string {
	return base64Std(ed25519.Sign(key, msg))
}

func TestListTrustedTreatsRefusedAsProblems(t *testing.T) {
	ctx := context.Background()
	key, other := newKey(t), newKey(t)
	st := newMemStore(t0)
	put := func(created time.Time, s *Signer) *Manifest {
		data := []byte("snapshot of " + created.String())
		m := testManifest("vault", created, data)
		if err := st.Put(ctx, m.DataObjectKey(), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		enc, err := EncodeSigned(m, s)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, m.Key(), bytes.NewReader(enc)); err != nil {
			t.Fatal(err)
		}
		return m
	}
	genuine := put(t0, NewSigner(key))
	unsigned := put(t0.Add(time.Hour), nil)
	forged := put(t0.Add(2*time.Hour), NewSigner(other))

	backups, problems, err := ListTrusted(ctx, st, "vault", NewTrust([]ed25519.PublicKey{pubOf(key)}, false))
	if err != nil {
		t.Fatal(err)
	}
	if len(backups) != 1 || backups[0].ID != genuine.ID {
		t.Fatalf("backups = %v, want only %s", backups, genuine.ID)
	}
	got := map[string]error{}
	for _, p := range problems {
		got[p.ID] = p.Err
	}
	if !errors.Is(got[unsigned.ID], ErrUnsigned) || !errors.Is(got[forged.ID], ErrUnknownKey) || len(got) != 2 {
		t.Fatalf("problems = %v", problems)
	}
	if !strings.Contains(got[forged.ID].Error(), ShortFingerprint(Fingerprint(pubOf(other)))) {
		t.Errorf("the refusal does not name the key found: %v", got[forged.ID])
	}
	// Retention over the trusted listing never counts (so never deletes) the refused ones.
	if _, err := Prune(ctx, st, "vault", Plan(t0, backups, Policy{KeepLast: 1}), PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	all, _, err := List(ctx, st, "vault")
	if err != nil || len(all) != 3 {
		t.Fatalf("after prune: %d backups, %v; want all 3", len(all), err)
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// A mirror re-encodes a decoded manifest without the key: the copy still verifies.
func TestReencodedSignedManifestStillVerifies(t *testing.T) {
	key := newKey(t)
	m, err := Decode(signed(t, key))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := Decode(again)
	if err != nil {
		t.Fatal(err)
	}
	if err := NewTrust([]ed25519.PublicKey{pubOf(key)}, false).Check(copied); err != nil {
		t.Fatalf("mirrored manifest refused: %v", err)
	}
}
