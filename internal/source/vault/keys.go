package vault

import (
	"encoding/json"
	"errors"
	"strings"
)

// ParseUnsealKeys reads unseal keys from either one key per line (blank lines and #
// comments ignored) or the JSON printed by `vault/bao operator init -format=json`.
func ParseUnsealKeys(data []byte) ([]string, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		var init struct {
			KeysB64       []string `json:"unseal_keys_b64"`
			KeysHex       []string `json:"unseal_keys_hex"`
			KeysBase64Alt []string `json:"keys_base64"`
			Keys          []string `json:"keys"`
		}
		if err := json.Unmarshal([]byte(trimmed), &init); err != nil {
			return nil, errors.New("looks like JSON but does not parse: " + err.Error())
		}
		for _, ks := range [][]string{init.KeysB64, init.KeysBase64Alt, init.KeysHex, init.Keys} {
			if len(ks) > 0 {
				return ks, nil
			}
		}
		return nil, errors.New("JSON holds no unseal_keys_b64, keys_base64, unseal_keys_hex or keys")
	}
	var keys []string
	for _, line := range strings.Split(trimmed, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keys = append(keys, line)
	}
	if len(keys) == 0 {
		return nil, errors.New("no unseal keys in the file")
	}
	return keys, nil
}
