package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrInvalidManifest is wrapped by every error Decode and Validate return, so callers can
// tell a corrupt manifest from a store that failed to read it.
var ErrInvalidManifest = errors.New("invalid manifest")

// MaxManifestSize bounds what List reads of one manifest: a real one is a few KiB, and a
// huge object named manifest.json must not exhaust memory.
const MaxManifestSize = 1 << 20

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Encode validates m and returns its JSON form with the current FormatVersion. Times are
// written in UTC so every manifest reads the same whatever the writer's time zone.
func Encode(m *Manifest) ([]byte, error) {
	c := *m
	c.FormatVersion = FormatVersion
	c.Created, c.Finished = m.Created.UTC(), m.Finished.UTC()
	c.Drills = nil // a copy, so the caller's records are not modified
	for _, d := range m.Drills {
		d.At = d.At.UTC()
		c.Drills = append(c.Drills, d)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest %s: %w", m.ID, err)
	}
	return append(b, '\n'), nil
}

// Decode parses and validates a manifest. Unknown fields are accepted (a newer lifeboat may
// add optional ones within the same format version); an unknown formatVersion is not.
func Decode(data []byte) (*Manifest, error) {
	// The fields are read from the canonical form a signature covers (see signing.go), so
	// what lifeboat uses is exactly what was signed.
	canon, sig, err := decodeSigned(data)
	if err != nil {
		return nil, fmt.Errorf("%w: not valid manifest JSON: %w", ErrInvalidManifest, err)
	}
	var m Manifest
	if err := json.Unmarshal(canon, &m); err != nil {
		return nil, fmt.Errorf("%w: not valid manifest JSON: %w", ErrInvalidManifest, err)
	}
	m.Signature = sig
	m.normalize()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// normalize gives equal manifests one in-memory form: UTC times, nil for empty lists.
func (m *Manifest) normalize() {
	m.Created, m.Finished = m.Created.UTC(), m.Finished.UTC()
	if len(m.Drills) == 0 {
		m.Drills = nil
	}
	for i := range m.Drills {
		m.Drills[i].At = m.Drills[i].At.UTC()
	}
	if m.Encryption != nil && len(m.Encryption.Recipients) == 0 {
		m.Encryption.Recipients = nil
	}
	if len(m.Extras) == 0 {
		m.Extras = nil
	}
	if m.Postgres != nil && len(m.Postgres.TableRowCounts) == 0 {
		m.Postgres.TableRowCounts = nil
	}
}

// Validate checks what restore, verify and prune rely on.
func (m *Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidManifest, fmt.Sprintf(format, args...))
	}
	switch {
	case m.FormatVersion == 0:
		return bad("missing formatVersion")
	case m.FormatVersion != FormatVersion:
		return bad("formatVersion %d is not supported (this lifeboat reads version %d); "+
			"use the lifeboat release that wrote this backup or a newer one", m.FormatVersion, FormatVersion)
	case m.ID == "":
		return bad("missing id")
	}
	src, _, err := ParseBackupID(m.ID)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	switch {
	case m.Source.Name != src:
		return bad("id %q does not belong to source %q", m.ID, m.Source.Name)
	case m.Source.Kind == "":
		return bad("missing source.kind")
	case m.Created.IsZero():
		return bad("missing created")
	case m.DataKey == "":
		return bad("missing dataKey")
	case !strings.HasPrefix(m.DataKey, DataPrefix) || strings.Contains(m.DataKey, "/"):
		// Prune deletes this key: it must never point outside the backup's directory.
		return bad("dataKey %q must be a file name starting with %q inside the backup directory", m.DataKey, DataPrefix)
	case m.Size < 0:
		return bad("size %d is negative", m.Size)
	case m.SHA256 == "":
		return bad("missing sha256")
	case !sha256RE.MatchString(m.SHA256):
		return bad("sha256 %q is not 64 lowercase hex digits", m.SHA256)
	case m.Compression != CompressionNone && m.Compression != CompressionZstd:
		return bad("compression %q is not known (want %q or none)", m.Compression, CompressionZstd)
	}
	for _, x := range m.Extras {
		switch {
		case x.Name == "" || strings.Contains(x.Name, "/") || strings.HasPrefix(x.Name, ".") ||
			strings.HasPrefix(x.Name, DataPrefix) || x.Name == ManifestName:
			// Prune deletes extras too: they must stay plain names inside the backup directory.
			return bad("extra %q must be a plain file name other than the data object and the manifest", x.Name)
		case x.Size < 0:
			return bad("extra %q has a negative size", x.Name)
		case !sha256RE.MatchString(x.SHA256):
			return bad("extra %q sha256 %q is not 64 lowercase hex digits", x.Name, x.SHA256)
		}
	}
	if e := m.Encryption; e != nil {
		if e.Kind != "age" {
			return bad("encryption kind %q is not known (want \"age\")", e.Kind)
		}
		if len(e.Recipients) == 0 {
			return bad("encryption lists no recipients")
		}
	}
	return nil
}
