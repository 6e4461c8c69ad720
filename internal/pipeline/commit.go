package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// CommitBackup writes a backup whose data object st already holds: each of m's extras,
// read through open, then m's manifest. The manifest goes last because its presence
// commits the backup, and a committed backup must be restorable in full, extras
// included. Both a run and `lifeboat mirror` commit this way.
//
// With a signer the manifest is signed (the signature is inside manifest.json, so the Put
// that commits the backup is the one that signs it). A mirror passes no signer and writes
// m as it was read, its signature included.
func CommitBackup(ctx context.Context, st store.Store, m *catalog.Manifest, signer *catalog.Signer, open func(catalog.ExtraObject) (io.ReadCloser, error)) error {
	var body []byte
	var err error
	if signer != nil {
		body, err = catalog.EncodeSigned(m, signer)
	} else {
		body, err = catalog.Encode(m)
	}
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	for _, x := range m.Extras {
		if err := putExtra(ctx, st, m, x, open); err != nil {
			return fmt.Errorf("%s could not be written, so the backup is not committed there: %w", x.Name, err)
		}
	}
	if err := st.Put(ctx, m.Key(), bytes.NewReader(body)); err != nil {
		return fmt.Errorf("the manifest could not be written, so the backup is not committed there: %w", err)
	}
	return nil
}

func putExtra(ctx context.Context, st store.Store, m *catalog.Manifest, x catalog.ExtraObject, open func(catalog.ExtraObject) (io.ReadCloser, error)) error {
	rc, err := open(x)
	if err != nil {
		return err
	}
	defer rc.Close()
	return st.Put(ctx, m.ExtraKey(x.Name), rc)
}
