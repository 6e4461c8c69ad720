package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// ErrChecksum is wrapped when stored bytes do not match their manifest.
var ErrChecksum = errors.New("checksum mismatch")

// Unwrap describes how to get a stored object back to the artifact's own bytes.
type Unwrap struct {
	Encrypted  bool
	Compressed bool
	// SHA256 and Size, when set, are checked against the stored bytes; a mismatch is
	// reported when the stream reaches its end, before io.EOF is returned.
	SHA256 string
	Size   int64
}

// UnwrapFor is the Unwrap a manifest describes.
func UnwrapFor(m *catalog.Manifest) Unwrap {
	return Unwrap{Encrypted: m.Encryption != nil, Compressed: m.Compression == catalog.CompressionZstd, SHA256: m.SHA256, Size: m.Size}
}

// OpenBackup reads a committed backup's data from st and returns the original artifact
// bytes (decrypted, decompressed). The stored bytes are checked against the manifest's
// size and sha256; a mismatch surfaces as an error wrapping ErrChecksum at the end of the
// stream, so a caller that reads to EOF has verified the whole object.
func OpenBackup(ctx context.Context, st store.Store, m *catalog.Manifest, ids []age.Identity) (io.ReadCloser, error) {
	rc, err := st.Get(ctx, m.DataObjectKey())
	if err != nil {
		return nil, fmt.Errorf("read backup %s from %s: %w", m.ID, st, err)
	}
	r, err := UnwrapReader(rc, UnwrapFor(m), ids)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("backup %s in %s: %w", m.ID, st, err)
	}
	return r, nil
}

// OpenExtra reads a committed backup's side object (e.g. globals.sql.zst.age) through the
// same unwrapping as its data, checked against the extra's own size and sha256.
func OpenExtra(ctx context.Context, st store.Store, m *catalog.Manifest, x catalog.ExtraObject, ids []age.Identity) (io.ReadCloser, error) {
	rc, err := st.Get(ctx, m.ExtraKey(x.Name))
	if err != nil {
		return nil, fmt.Errorf("read %s of backup %s from %s: %w", x.Name, m.ID, st, err)
	}
	u := UnwrapFor(m)
	u.SHA256, u.Size = x.SHA256, x.Size
	r, err := UnwrapReader(rc, u, ids)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("%s of backup %s in %s: %w", x.Name, m.ID, st, err)
	}
	return r, nil
}

// UnwrapReader layers checksum, decryption and decompression over stored bytes.
func UnwrapReader(stored io.ReadCloser, u Unwrap, ids []age.Identity) (io.ReadCloser, error) {
	checked := &checkingReader{r: stored, h: sha256.New(), want: u}
	var plain io.Reader = checked
	if u.Encrypted {
		if len(ids) == 0 {
			return nil, errors.New("the backup is age-encrypted: set encryption.age.identityFile or pass --identity-file")
		}
		dr, err := age.Decrypt(plain, ids...)
		if err != nil {
			return nil, fmt.Errorf("decrypt: %w (is the identity one of the backup's recipients?)", err)
		}
		plain = dr
	}
	var closeZstd func()
	if u.Compressed {
		zr, err := NewZstdReader(plain)
		if err != nil {
			return nil, err
		}
		plain, closeZstd = zr, zr.Close
	}
	return &unwrapped{plain: plain, checked: checked, closer: stored, closeZstd: closeZstd}, nil
}

// checkingReader hashes and counts what passes through it.
type checkingReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	want Unwrap
}

func (c *checkingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func (c *checkingReader) verify() error {
	if c.want.Size > 0 && c.n != c.want.Size {
		return fmt.Errorf("%w: stored object has %d bytes, the manifest says %d (truncated or replaced)", ErrChecksum, c.n, c.want.Size)
	}
	if got := hex.EncodeToString(c.h.Sum(nil)); c.want.SHA256 != "" && got != c.want.SHA256 {
		return fmt.Errorf("%w: stored object has sha256 %s, the manifest says %s (the data is corrupt)", ErrChecksum, got, c.want.SHA256)
	}
	return nil
}

type unwrapped struct {
	plain     io.Reader
	checked   *checkingReader
	closer    io.Closer
	closeZstd func()
	done      bool
}

func (u *unwrapped) Read(p []byte) (int, error) {
	if u.done {
		return 0, io.EOF
	}
	n, err := u.plain.Read(p)
	if errors.Is(err, io.EOF) {
		// Decoders stop at their own end marker; the checksum covers every stored byte,
		// so read whatever is left before judging.
		if _, derr := io.Copy(io.Discard, u.checked); derr != nil {
			return n, derr
		}
		if verr := u.checked.verify(); verr != nil {
			return n, verr
		}
		u.done = true
	}
	return n, err
}

func (u *unwrapped) Close() error {
	if u.closeZstd != nil {
		u.closeZstd()
	}
	return u.closer.Close()
}
