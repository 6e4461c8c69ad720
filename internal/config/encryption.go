package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
)

// parseRecipient checks one age public key and reports whether it is post-quantum.
func parseRecipient(r string) (pq bool, _ error) {
	if strings.HasPrefix(strings.ToUpper(r), "AGE-SECRET-KEY-") {
		// Do not echo it: this is a private key pasted in the wrong place.
		return false, errors.New("this is an age identity (a PRIVATE key), not a recipient: remove it " +
			"from the config, replace it with its public key (age-keygen -y) and consider it exposed")
	}
	if strings.ContainsAny(r, "\r\n") {
		return false, errors.New("one recipient per list entry, please")
	}
	var err error
	switch pq = strings.HasPrefix(r, "age1pq1"); {
	case pq:
		_, err = age.ParseHybridRecipient(r)
	case strings.HasPrefix(r, "age1"):
		_, err = age.ParseX25519Recipient(r)
	default:
		err = errors.New("unknown recipient type")
	}
	if err != nil {
		return false, fmt.Errorf("not an age public key (%v); recipients start with age1", err)
	}
	return pq, nil
}

// Enabled reports whether backups are to be encrypted.
func (e Encryption) Enabled() bool { return e.Age != nil }

// LoadRecipients parses the configured recipients and the recipients file.
func (a *AgeEncryption) LoadRecipients() ([]age.Recipient, error) {
	recipients, err := age.ParseRecipients(strings.NewReader(strings.Join(a.Recipients, "\n")))
	if err != nil && len(a.Recipients) > 0 {
		return nil, fmt.Errorf("encryption.age.recipients: %w", err)
	}
	if a.RecipientsFile != "" {
		f, err := os.Open(a.RecipientsFile)
		if err != nil {
			return nil, fmt.Errorf("encryption.age.recipientsFile: %w", err)
		}
		defer func() { _ = f.Close() }()
		more, err := age.ParseRecipients(f)
		if err != nil {
			return nil, fmt.Errorf("encryption.age.recipientsFile %s: %w", a.RecipientsFile, err)
		}
		recipients = append(recipients, more...)
	}
	if len(recipients) == 0 {
		return nil, errors.New("encryption.age: no recipients configured")
	}
	return recipients, nil
}
