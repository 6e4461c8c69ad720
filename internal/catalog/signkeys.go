package catalog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Signing keys are ed25519 keys in the forms openssl writes and reads, so an operator can
// make and inspect them without lifeboat (`openssl genpkey -algorithm ed25519`):
//
//   - a private key is a PEM "PRIVATE KEY" block (PKCS #8);
//   - a public key is a PEM "PUBLIC KEY" block (PKIX), or the one-line form
//     "ed25519:<standard base64 of the 32 key bytes>" that `lifeboat keygen` prints and
//     that fits a YAML list.

// PublicKeyPrefix starts the one-line form of a public key.
const PublicKeyPrefix = "ed25519:"

// FormatPublicKey is the one-line form of pub.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// PublicKeyPEM is pub as a PEM "PUBLIC KEY" block.
func PublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// PrivateKeyPEM is key as a PEM "PRIVATE KEY" block (PKCS #8).
func PrivateKeyPEM(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads a PEM "PRIVATE KEY" block holding an ed25519 key. Errors never
// quote the input: it is a secret.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" block; make one with `lifeboat keygen` or " +
			"`openssl genpkey -algorithm ed25519`")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("the PRIVATE KEY block is not a valid PKCS #8 key")
	}
	ed, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is a %T, not an ed25519 key; make one with `lifeboat keygen`", key)
	}
	return ed, nil
}

// ParsePublicKey reads one public key, in the one-line form or as a PEM "PUBLIC KEY" block.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		keys, err := ParsePublicKeys([]byte(s))
		if err != nil {
			return nil, err
		}
		if len(keys) != 1 {
			return nil, fmt.Errorf("want one public key, found %d", len(keys))
		}
		return keys[0], nil
	}
	return parseOneLine(s)
}

func parseOneLine(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(s, PublicKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("not a public key: want %q followed by base64, or a PEM \"PUBLIC KEY\" block "+
			"(`lifeboat keygen` prints one)", PublicKeyPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		if len(raw) == ed25519.PrivateKeySize || len(raw) == ed25519.SeedSize {
			// Never echo it: this looks like a private key pasted in the wrong place.
			return nil, errors.New("this is not a public key (it has the size of a PRIVATE key): remove it " +
				"from the config and consider it exposed")
		}
		return nil, fmt.Errorf("not a public key: %q must be followed by the base64 of %d bytes", PublicKeyPrefix, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// ParsePublicKeys reads a file of public keys: PEM "PUBLIC KEY" blocks and one-line keys,
// with blank lines and lines starting with '#' ignored. It refuses a private key.
func ParsePublicKeys(data []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	rest := data
	for len(rest) > 0 {
		line := bytes.Count(data[:len(data)-len(rest)], []byte("\n")) + 1
		l, after, _ := bytes.Cut(rest, []byte("\n"))
		t := strings.TrimSpace(string(l))
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			rest = after
		case strings.HasPrefix(t, "-----BEGIN"):
			block, next := pem.Decode(rest)
			if block == nil {
				return nil, fmt.Errorf("line %d: a PEM block that is not complete", line)
			}
			if block.Type != "PUBLIC KEY" {
				return nil, fmt.Errorf("line %d: a PEM %q block, not \"PUBLIC KEY\"; a private key does not belong here: "+
					"remove it and consider it exposed", line, block.Type)
			}
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("line %d: not a valid PUBLIC KEY block", line)
			}
			ed, ok := pub.(ed25519.PublicKey)
			if !ok {
				return nil, fmt.Errorf("line %d: a %T, not an ed25519 public key", line, pub)
			}
			keys = append(keys, ed)
			rest = next
		default:
			k, err := parseOneLine(t)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			keys = append(keys, k)
			rest = after
		}
	}
	return keys, nil
}
