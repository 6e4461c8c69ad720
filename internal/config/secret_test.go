package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/token", "s.file-token\n")
	writeFile(t, dir+"/crlf", "pw\r\n")
	writeFile(t, dir+"/empty", "\n")
	t.Setenv("LIFEBOAT_TEST_TOKEN", "s.env-token")
	t.Setenv("LIFEBOAT_TEST_EMPTY", "")

	for s, want := range map[Secret]string{
		{File: dir + "/token"}:       "s.file-token",
		{File: dir + "/crlf"}:        "pw",
		{Env: "LIFEBOAT_TEST_TOKEN"}: "s.env-token",
	} {
		if got, err := s.Resolve(); err != nil || got != want {
			t.Errorf("%v.Resolve() = %q, %v; want %q", s, got, err, want)
		}
	}
	for s, want := range map[Secret]string{
		{File: dir + "/missing"}:        "read secret file " + dir + "/missing: open",
		{File: dir + "/empty"}:          "secret file " + dir + "/empty is empty; write the credential into it",
		{Env: "LIFEBOAT_TEST_UNSET"}:    "secret environment variable LIFEBOAT_TEST_UNSET is not set or empty; export it",
		{Env: "LIFEBOAT_TEST_EMPTY"}:    "LIFEBOAT_TEST_EMPTY is not set or empty",
		{}:                              "secret is not configured; use {file: /path} or {env: NAME}",
		{File: "/a", Env: "LIFEBOAT_X"}: "set either file or env, not both",
	} {
		if _, err := s.Resolve(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v.Resolve() error = %v; want %q", s, err, want)
		}
	}
}

// The config holds only references, but a secret's value must not leak through any of
// the ways a config is printed even after it was resolved next to it.
func TestSecretNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/pw", "hunter2-value")
	t.Setenv("LIFEBOAT_TEST_KEY", "AKIA-value")
	c, err := Parse([]byte(okSources + `
destinations:
  - name: minio
    kind: s3
    s3:
      bucket: backups
      accessKeyID: {env: LIFEBOAT_TEST_KEY}
      secretAccessKey: {file: ` + dir + `/pw}
`))
	if err != nil {
		t.Fatal(err)
	}
	s3 := c.Destinations[0].S3
	for _, s := range []Secret{s3.AccessKeyID, s3.SecretAccessKey} {
		if _, err := s.Resolve(); err != nil {
			t.Fatal(err)
		}
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "s3", s3, "key", s3.SecretAccessKey)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "key", s3.AccessKeyID)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", s3), "%+v": fmt.Sprintf("%+v", *s3), "%#v": fmt.Sprintf("%#v", *s3),
		"%s%q": fmt.Sprintf("%s %q", s3.SecretAccessKey, s3.SecretAccessKey), "json": string(js), "slog": logged.String(),
	}
	for how, out := range outputs {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "AKIA") {
			t.Errorf("%s output reveals a secret: %s", how, out)
		}
	}
	if !strings.Contains(outputs["json"], `"secretAccessKey":{"file":"`+dir+`/pw"}`) ||
		!strings.Contains(logged.String(), `"key":"file:`+dir+`/pw"`) ||
		!strings.Contains(logged.String(), "key=env:LIFEBOAT_TEST_KEY") {
		t.Errorf("secret references not shown:\n%s\n%s", outputs["json"], logged.String())
	}
}

func TestSecretJSONRoundTrip(t *testing.T) {
	for _, s := range []Secret{{File: "/a"}, {Env: "B"}} {
		js, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Secret
		if err := json.Unmarshal(js, &back); err != nil || back != s {
			t.Errorf("round trip of %v via %s = %v, %v", s, js, back, err)
		}
	}
	var s Secret
	err := json.Unmarshal([]byte(`"s.inline-value"`), &s)
	if err == nil || strings.Contains(err.Error(), "inline-value") || !strings.Contains(err.Error(), "inline secrets are not allowed") {
		t.Errorf("inline secret error = %v", err)
	}
}
