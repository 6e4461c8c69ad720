package vault

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// sealStanza renders a scratch server's `seal "<type>" { ... }` stanza from
// drill.vault.seal, resolving its secrets. The result holds credentials: it is only ever
// written into the scratch server's own configuration file.
func sealStanza(field string, s *config.VaultSeal) (string, error) {
	if s == nil {
		return "", nil
	}
	params := maps.Clone(s.Parameters)
	if params == nil {
		params = map[string]string{}
	}
	for name, sec := range s.Secrets {
		v, err := sec.Resolve()
		if err != nil {
			return "", fmt.Errorf("%s.secrets.%s: %w", field, name, err)
		}
		params[name] = strings.TrimSpace(v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seal %s {\n", strconv.Quote(s.Type))
	for _, name := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(&b, "  %s = %s\n", name, strconv.Quote(params[name]))
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// autoUnseal says whether a seal status is that of an auto-unseal seal (anything but
// Shamir), which unseals the node by itself and has recovery keys instead of unseal keys.
func autoUnseal(sealType string) bool {
	return sealType != "" && sealType != "shamir"
}
