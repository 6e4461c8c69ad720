package catalog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// A manifest is signed with ed25519 so that only a holder of the private key (the pods
// that back up) can commit a backup that restores accept. Write access to a destination
// is not enough any more: the manifest's sha256 sits next to the data, and age encrypts
// to public recipients, so without a signature anyone who can write there can plant a
// "latest" backup.
//
// The signature is a member of manifest.json itself ("signature"), not a detached
// object. The manifest is written last and its one Put commits the backup: with the
// signature inside, a committed manifest is signed from its first byte, there is no
// window (or crash) that leaves a manifest whose signature is still to come, and no second
// object to copy, prune or lose. A manifest without the member is simply unsigned.
//
// The signature covers the canonical form of the manifest's JSON object without its
// "signature" member: every key at every level sorted, no insignificant whitespace,
// numbers as written, strings as Go's encoding/json writes them (no HTML escaping),
// preceded by SignatureContext. It is computed from the stored JSON, not from the
// fields this build knows, so a field a newer lifeboat adds is covered too; and Decode
// reads the manifest back FROM that canonical form, so what is used is exactly what was
// signed, whatever duplicate or oddly cased keys the stored bytes hold.

// SignatureAlgorithm is the only algorithm lifeboat signs and verifies with.
const SignatureAlgorithm = "ed25519"

// SignatureContext precedes the canonical manifest in the signed message, so a signing
// key of lifeboat cannot be made to sign anything that verifies as something else.
const SignatureContext = "lifeboat manifest signature v1\n"

// Errors a Trust check wraps. ErrUntrusted is wrapped by all three.
var (
	ErrUntrusted    = errors.New("backup refused by its signature check")
	ErrUnsigned     = errors.New("the manifest is not signed")
	ErrUnknownKey   = errors.New("the manifest is signed by a key that is not trusted")
	ErrBadSignature = errors.New("the manifest's signature does not verify")
)

// Signature is the "signature" member of a signed manifest.
type Signature struct {
	Algorithm string `json:"algorithm"`
	// Key is the fingerprint of the public key that verifies Value (see Fingerprint).
	Key string `json:"key"`
	// Value is the ed25519 signature, standard base64.
	Value string `json:"value"`

	// message is what Value signs, kept by Decode; nil for a manifest built in memory.
	message []byte
}

// Fingerprint names a public key: "sha256:" and the hex sha256 of its 32 raw bytes. A
// manifest records it; ShortFingerprint is for display.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ShortFingerprint is the first 16 hex digits of a fingerprint, enough to tell keys apart
// in messages; anything that is not a fingerprint is returned as it is.
func ShortFingerprint(fp string) string {
	if len(fp) > len("sha256:")+16 && strings.HasPrefix(fp, "sha256:") {
		return fp[:len("sha256:")+16]
	}
	return fp
}

// SignedBy says who signed m, for display: "signed by sha256:<16 hex>" or "unsigned".
func (m *Manifest) SignedBy() string {
	if m == nil || m.Signature == nil {
		return "unsigned"
	}
	return "signed by " + ShortFingerprint(m.Signature.Key)
}

// Signer signs manifests with one private key.
type Signer struct {
	key ed25519.PrivateKey
	fp  string
}

// NewSigner returns a signer for key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	pub, _ := key.Public().(ed25519.PublicKey)
	return &Signer{key: key, fp: Fingerprint(pub)}
}

// Fingerprint is the fingerprint of the signer's public key.
func (s *Signer) Fingerprint() string { return s.fp }

// PublicKey is the signer's public key.
func (s *Signer) PublicKey() ed25519.PublicKey {
	pub, _ := s.key.Public().(ed25519.PublicKey)
	return pub
}

// EncodeSigned encodes m like Encode with a signature by s over it. A nil s encodes m
// unsigned. m itself is not changed.
func EncodeSigned(m *Manifest, s *Signer) ([]byte, error) {
	c := *m
	c.Signature = nil
	body, err := Encode(&c)
	if err != nil || s == nil {
		return body, err
	}
	msg, err := signedMessage(body)
	if err != nil {
		return nil, fmt.Errorf("sign manifest %s: %w", m.ID, err)
	}
	c.Signature = &Signature{Algorithm: SignatureAlgorithm, Key: s.fp,
		Value: base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, msg))}
	return Encode(&c)
}

// signedMessage is SignatureContext and the canonical form of the JSON object data
// without its "signature" member.
func signedMessage(data []byte) ([]byte, error) {
	canon, _, err := canonicalize(data)
	if err != nil {
		return nil, err
	}
	return append([]byte(SignatureContext), canon...), nil
}

// canonicalize returns the canonical form of the JSON object data without its
// "signature" member, and that member's raw JSON (nil when absent).
func canonicalize(data []byte) (canon, sig []byte, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers stay as written: no float rounding of sizes or raft indexes
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("unexpected data after the JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, nil, errors.New("the manifest is not a JSON object")
	}
	if s, ok := obj["signature"]; ok && s != nil {
		if sig, err = json.Marshal(s); err != nil {
			return nil, nil, err
		}
	}
	delete(obj, "signature") // a null one too: that manifest is unsigned
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// encoding/json writes map keys sorted, at every level, and nothing else varies.
	if err := enc.Encode(obj); err != nil {
		return nil, nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), sig, nil
}

// Trust is what the readers of backups accept: manifests signed by one of Keys and, with
// AllowUnsigned, unsigned ones and ones signed by an unknown key. A signature that does
// not verify with the key it names is refused always. With no Keys every manifest is
// accepted, signed or not (a lifeboat without signing configured: see docs/security.md).
type Trust struct {
	Keys          map[string]ed25519.PublicKey // by Fingerprint
	AllowUnsigned bool
}

// NewTrust returns the trust of keys (duplicates are fine).
func NewTrust(keys []ed25519.PublicKey, allowUnsigned bool) *Trust {
	t := &Trust{Keys: map[string]ed25519.PublicKey{}, AllowUnsigned: allowUnsigned}
	for _, k := range keys {
		t.Keys[Fingerprint(k)] = k
	}
	return t
}

// Checks reports whether t checks signatures at all.
func (t *Trust) Checks() bool { return t != nil && len(t.Keys) > 0 }

// Fingerprints are the trusted keys' fingerprints, sorted.
func (t *Trust) Fingerprints() []string {
	var out []string
	if t != nil {
		for fp := range t.Keys {
			out = append(out, fp)
		}
	}
	slices.Sort(out)
	return out
}

// Check says whether m may be used. The error wraps ErrUntrusted and one of ErrUnsigned,
// ErrUnknownKey or ErrBadSignature, and says what an operator can do.
func (t *Trust) Check(m *Manifest) error {
	if !t.Checks() {
		return nil
	}
	s := m.Signature
	if s == nil {
		if t.AllowUnsigned {
			return nil
		}
		return refused(ErrUnsigned, "backup %s has no signature, and only backups signed by a key in "+
			"signing.publicKeys (%s) are used. A backup taken before signing was enabled can be used "+
			"with --allow-unsigned; otherwise it was written by someone without the signing key: do not "+
			"use it, and check who can write to this destination", m.ID, t.shortKeys())
	}
	pub, known := t.Keys[s.Key]
	if !known {
		if t.AllowUnsigned {
			return nil
		}
		return refused(ErrUnknownKey, "backup %s is signed by key %s, which is not in signing.publicKeys (%s). "+
			"If that key is yours (a new or rotated key), add its public key to signing.publicKeys; "+
			"to use this backup once anyway pass --allow-unsigned; otherwise do not use it",
			m.ID, ShortFingerprint(s.Key), t.shortKeys())
	}
	if err := verifySignature(m, pub); err != nil {
		return refused(ErrBadSignature, "backup %s claims to be signed by key %s but %v: its manifest was changed "+
			"after it was signed, or forged. Do not use it; it is refused with or without --allow-unsigned",
			m.ID, ShortFingerprint(s.Key), err)
	}
	return nil
}

// refusal is a Trust check's error: its text is the operator's sentence, and errors.Is
// finds ErrUntrusted and the kind.
type refusal struct {
	kind error
	msg  string
}

func (r *refusal) Error() string   { return "refused: " + r.msg }
func (r *refusal) Unwrap() []error { return []error{ErrUntrusted, r.kind} }

func refused(kind error, format string, args ...any) error {
	return &refusal{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func (t *Trust) shortKeys() string {
	var out []string
	for _, fp := range t.Fingerprints() {
		out = append(out, ShortFingerprint(fp))
	}
	return strings.Join(out, ", ")
}

func verifySignature(m *Manifest, pub ed25519.PublicKey) error {
	s := m.Signature
	if s.Algorithm != SignatureAlgorithm {
		return fmt.Errorf("its algorithm is %q, not %q", s.Algorithm, SignatureAlgorithm)
	}
	sig, err := base64.StdEncoding.DecodeString(s.Value)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("the signature is not a base64 ed25519 signature")
	}
	msg := s.message
	if msg == nil {
		// Built in memory (not decoded): sign what Encode would write.
		c := *m
		c.Signature = nil
		body, err := Encode(&c)
		if err != nil {
			return err
		}
		if msg, err = signedMessage(body); err != nil {
			return err
		}
	}
	if !ed25519.Verify(pub, msg, sig) {
		return errors.New("the signature does not match the manifest")
	}
	return nil
}

// decodeSigned splits a stored manifest into the canonical JSON Decode reads the fields
// from and its signature, if any.
func decodeSigned(data []byte) (canon []byte, sig *Signature, err error) {
	canon, raw, err := canonicalize(data)
	if err != nil {
		return nil, nil, err
	}
	if raw == nil {
		return canon, nil, nil
	}
	sig = &Signature{}
	if err := json.Unmarshal(raw, sig); err != nil {
		return nil, nil, fmt.Errorf("signature: %w", err)
	}
	sig.message = append([]byte(SignatureContext), canon...)
	return canon, sig, nil
}
