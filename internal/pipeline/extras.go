package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// storedExtra is a side object after compression/encryption, ready to upload.
type storedExtra struct {
	name string
	data []byte
}

// prepareExtras runs the source's Extras and passes each through the same stages as the
// data, so a roles dump with password hashes is never stored in the clear next to an
// encrypted backup.
func (p *Pipeline) prepareExtras(ctx context.Context, art *source.Artifact, m *catalog.Manifest) ([]storedExtra, error) {
	if art.Extras == nil {
		return nil, nil
	}
	extras, err := art.Extras(ctx)
	if err != nil {
		return nil, err
	}
	encrypt := p.Encryption != nil && len(p.Encryption.Recipients) > 0
	var out []storedExtra
	for _, x := range extras {
		var buf bytes.Buffer
		// Extras are kilobytes: one encoder thread, whatever the data's setting.
		stk, err := buildStack(&buf, art.Compress, p.CompressionLevel, 1, p.Encryption)
		if err != nil {
			return nil, err
		}
		if _, err := stk.Write(x.Data); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", x.Name, err)
		}
		if err := stk.Close(); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", x.Name, err)
		}
		name := dataExt(x.Name, art.Compress, encrypt)
		sum := sha256.Sum256(buf.Bytes())
		m.Extras = append(m.Extras, catalog.ExtraObject{Name: name, Size: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:])})
		out = append(out, storedExtra{name: name, data: buf.Bytes()})
	}
	return out, nil
}
