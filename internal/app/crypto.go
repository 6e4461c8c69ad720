package app

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// Encryption returns the configured age recipients, or nil when backups are not encrypted.
func (a *App) Encryption() (*pipeline.Encryption, error) {
	cfg := a.Config.Encryption.Age
	if cfg == nil {
		return nil, nil
	}
	keys := append([]string{}, cfg.Recipients...)
	if cfg.RecipientsFile != "" {
		f, err := os.Open(cfg.RecipientsFile)
		if err != nil {
			return nil, fmt.Errorf("encryption.age.recipientsFile: %w", err)
		}
		defer f.Close()
		rs, err := age.ParseRecipients(f)
		if err != nil {
			return nil, fmt.Errorf("encryption.age.recipientsFile %s: %w", cfg.RecipientsFile, err)
		}
		for _, r := range rs {
			if s, ok := r.(fmt.Stringer); ok {
				keys = append(keys, s.String())
			}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	enc := &pipeline.Encryption{}
	for _, k := range keys {
		rs, err := age.ParseRecipients(strings.NewReader(k))
		if err != nil {
			return nil, fmt.Errorf("encryption.age recipient %q: %w", k, err)
		}
		enc.Recipients = append(enc.Recipients, rs...)
		enc.Fingerprints = append(enc.Fingerprints, k)
	}
	return enc, nil
}

// Identities loads the age private keys restores and verification need.
func (a *App) Identities(override string) ([]age.Identity, error) {
	path := override
	if path == "" && a.Config.Encryption.Age != nil {
		path = a.Config.Encryption.Age.IdentityFile
	}
	if path == "" {
		return nil, errors.New("this backup is age-encrypted and no identity is configured: set encryption.age.identityFile or pass --identity-file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("age identity file: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("age identity file %s: %w", path, err)
	}
	return ids, nil
}

// IdentitiesFor loads age identities only when a backup is encrypted.
func (a *App) IdentitiesFor(encrypted bool, override string) ([]age.Identity, error) {
	if !encrypted {
		return nil, nil
	}
	return a.Identities(override)
}
