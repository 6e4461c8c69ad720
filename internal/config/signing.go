package config

import (
	"crypto/ed25519"
	"fmt"
	"os"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// Signing configures ed25519 signatures of manifests (docs/security.md). The private key
// goes only where backups run; the public keys go where backups are read: restores,
// drills, verify, auto-restore. Trusted keys are the public keys listed and those in the
// file; when there are none, the private key's own public key.
type Signing struct {
	// PrivateKey is a PEM "PRIVATE KEY" (PKCS #8 ed25519) from a file or the environment;
	// when set, every backup's manifest is signed with it.
	PrivateKey Secret `json:"privateKey,omitzero"`
	// PublicKeys are the keys whose signatures readers accept ("ed25519:<base64>" or a
	// PEM "PUBLIC KEY" block). With any key configured, an unsigned backup or one signed
	// by another key is refused unless the operator passes --allow-unsigned.
	PublicKeys []string `json:"publicKeys,omitempty"`
	// PublicKeysFile is a file of more public keys (one-line or PEM, '#' comments), e.g.
	// a mounted ConfigMap: rotating keys is editing it.
	PublicKeysFile string `json:"publicKeysFile,omitempty"`
}

func validateSigning(p *problems, path string, s *Signing) {
	if s == nil {
		return
	}
	if !s.PrivateKey.IsSet() && len(s.PublicKeys) == 0 && s.PublicKeysFile == "" {
		p.add(path, "set privateKey (where backups run), publicKeys or publicKeysFile (where backups are read), or remove signing")
	}
	validateSecret(p, field(path, "privateKey"), s.PrivateKey, false)
	for i, k := range s.PublicKeys {
		if _, err := catalog.ParsePublicKey(k); err != nil {
			p.add(index(field(path, "publicKeys"), i), "%s", err)
		}
	}
}

// Signer reads the private key; nil when none is configured. The error names the setting
// and never the key.
func (s *Signing) Signer() (*catalog.Signer, error) {
	if s == nil || !s.PrivateKey.IsSet() {
		return nil, nil
	}
	v, err := s.PrivateKey.Resolve()
	if err != nil {
		return nil, fmt.Errorf("signing.privateKey: %w", err)
	}
	key, err := catalog.ParsePrivateKey([]byte(v))
	if err != nil {
		return nil, fmt.Errorf("signing.privateKey (%s): %w", s.PrivateKey, err)
	}
	return catalog.NewSigner(key), nil
}

// TrustedKeys are the public keys readers accept: publicKeys and publicKeysFile, or when
// neither is set the private key's own. None means signatures are not checked. The private
// key is read only in that last case: one config can serve every pod (as the chart's
// does) while the key file is mounted only where backups run.
func (s *Signing) TrustedKeys() ([]ed25519.PublicKey, error) {
	if s == nil {
		return nil, nil
	}
	var keys []ed25519.PublicKey
	for i, k := range s.PublicKeys {
		pub, err := catalog.ParsePublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("signing.publicKeys[%d]: %w", i, err)
		}
		keys = append(keys, pub)
	}
	if s.PublicKeysFile != "" {
		data, err := os.ReadFile(s.PublicKeysFile)
		if err != nil {
			return nil, fmt.Errorf("signing.publicKeysFile: %w; check the path and that lifeboat may read it", err)
		}
		more, err := catalog.ParsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("signing.publicKeysFile %s: %w", s.PublicKeysFile, err)
		}
		if len(more) == 0 {
			// An empty file would silently turn checking off where it was meant to be on.
			return nil, fmt.Errorf("signing.publicKeysFile %s holds no public key; add one (`lifeboat keygen` prints it)", s.PublicKeysFile)
		}
		keys = append(keys, more...)
	}
	if len(keys) > 0 || s.PublicKeysFile != "" {
		return keys, nil
	}
	signer, err := s.Signer()
	if err != nil {
		return nil, err
	}
	if signer != nil {
		keys = append(keys, signer.PublicKey())
	}
	return keys, nil
}
