package app

import (
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// Signer is the configured signing key, nil when backups are not signed.
func (a *App) Signer() (*catalog.Signer, error) {
	return a.Config.Signing.Signer()
}

// Trust is what readers of backups accept (see catalog.Trust): signatures by the
// configured public keys, and with App.AllowUnsigned unsigned backups and unknown keys
// too. The keys file is read on each call, so a rotation needs no restart. With no key
// configured nothing is checked, and that is logged as a warning once per process: a
// destination's writers can then plant a backup that restores accept.
func (a *App) Trust() (*catalog.Trust, error) {
	keys, err := a.Config.Signing.TrustedKeys()
	if err != nil {
		return nil, fmt.Errorf("%w; fix the signing settings, as without them no backup can be trusted", err)
	}
	if len(keys) == 0 {
		a.warnUnsigned.Do(func() {
			a.logger().Warn("backups are used without checking signatures: no signing.publicKeys are configured, " +
				"so anyone who can write to a destination can plant a backup that restores accept; " +
				"configure signing (docs/security.md)")
		})
	}
	return catalog.NewTrust(keys, a.AllowUnsigned), nil
}
