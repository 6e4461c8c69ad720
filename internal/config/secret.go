package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
)

// Secret points at a credential kept outside the config: in a file (a mounted Kubernetes
// Secret) or an environment variable. The config never holds the value itself, so it can
// be printed, logged and committed; Resolve reads the value only when it is needed.
type Secret struct {
	File string `json:"file,omitempty"`
	Env  string `json:"env,omitempty"`
}

const secretForms = "use {file: /path} or {env: NAME}"

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// IsSet reports whether the secret points anywhere.
func (s Secret) IsSet() bool { return s.File != "" || s.Env != "" }

// Resolve reads the secret. A file's trailing newline is dropped (editors and `echo` add
// one; no credential ends in one).
func (s Secret) Resolve() (string, error) {
	switch {
	case s.File != "" && s.Env != "":
		return "", fmt.Errorf("secret %s: set either file or env, not both", s)
	case s.File != "":
		data, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file %s: %w; check the path and that lifeboat may read it", s.File, err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty; write the credential into it", s.File)
		}
		return v, nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("secret environment variable %s is not set or empty; export it, or point "+
				"the secret at a file with {file: /path}", s.Env)
		}
		return v, nil
	default:
		return "", errors.New("secret is not configured; " + secretForms)
	}
}

// String names where the secret comes from, never its value.
func (s Secret) String() string {
	switch {
	case s.File != "" && s.Env != "":
		return "file:" + s.File + "+env:" + s.Env
	case s.File != "":
		return "file:" + s.File
	case s.Env != "":
		return "env:" + s.Env
	default:
		return "unset"
	}
}

// LogValue keeps slog output to the secret's location.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the reference ({"file": ...} or {"env": ...}), which is also what
// the config file holds.
func (s Secret) MarshalJSON() ([]byte, error) {
	type plain Secret
	return json.Marshal(plain(s))
}

// UnmarshalJSON accepts {file: ...} or {env: ...} and rejects an inline value without
// echoing it, since it is probably a real credential.
func (s *Secret) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) == 0 || data[0] != '{' {
		return errors.New("inline secrets are not allowed; " + secretForms)
	}
	type plain Secret
	var p plain
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("a secret has only file or env (%v); %s", err, secretForms)
	}
	*s = Secret(p)
	return nil
}

// validateSecret checks the reference itself (not that the file or variable exists: that
// is only known where the secret is used).
func validateSecret(p *problems, path string, s Secret, required bool) {
	switch {
	case s.File != "" && s.Env != "":
		p.add(path, "set either file or env, not both")
	case s.Env != "" && !envNameRE.MatchString(s.Env):
		p.add(field(path, "env"), "%q is not an environment variable name", s.Env)
	case required && !s.IsSet():
		p.add(path, "required; %s", secretForms)
	}
}
