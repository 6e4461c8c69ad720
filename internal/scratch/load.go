package scratch

import (
	"context"
	"fmt"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

// LoadSnapshot brings the uninitialised scratch server to the state in snapshot and
// unseals it with the snapshot's original keys. Afterwards only tokens of the snapshot's
// cluster are valid.
func (v *Vault) LoadSnapshot(ctx context.Context, snapshot io.Reader, unsealKeys []string) error {
	if _, err := vault.RestoreIntoUninitialised(ctx, vault.Options{Address: v.Addr}, snapshot, unsealKeys); err != nil {
		return fmt.Errorf("restore into the scratch instance: %w; %s", err, v.logTail())
	}
	return nil
}
