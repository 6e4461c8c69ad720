package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

const minimal = `
sources:
  - name: vault
    kind: vault
    vault: {address: "https://vault:8200"}
  - name: workflows
    kind: postgres
    destinations: [minio]
    postgres: {host: db, database: argo}
destinations:
  - name: local
    kind: file
    file: {path: /backups}
  - name: minio
    kind: s3
    prefix: /lifeboat/
    s3: {endpoint: "http://minio:9000/", bucket: backups}
`

func TestParseAppliesDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Sources[0].Vault
	if v.Auth.Method != AuthToken || v.Auth.Token != (Secret{Env: "VAULT_TOKEN"}) || v.Timeout.Duration != 30*time.Second ||
		v.Compression != "auto" || v.CompressionLevel != 2 || v.CompressionThreads != 1 {
		t.Errorf("vault defaults: %+v", v)
	}
	pg := c.Sources[1].Postgres
	if pg.Port != 5432 || pg.SSLMode != "prefer" || pg.CompressionLevel != 2 || pg.CompressionThreads != 1 {
		t.Errorf("postgres defaults: %+v", pg)
	}
	d := c.Destinations[1]
	// No region: the S3 client asks the server for the bucket's.
	want := S3Dest{Endpoint: "minio:9000", Insecure: true, Bucket: "backups", PartSizeMiB: DefaultPartSizeMiB}
	if d.Prefix != "lifeboat" || *d.S3 != want {
		t.Errorf("s3 defaults: prefix %q, %+v", d.Prefix, *d.S3)
	}
	if !d.Retention.KeepsEverything() {
		t.Errorf("retention without rules = %v", d.Retention)
	}
	if c.Server.Listen != "127.0.0.1:8080" || c.Server.HistoryLimit != 200 {
		t.Errorf("server defaults: %+v", c.Server)
	}
	if c.Sources[0].Destinations != nil {
		t.Errorf("a source without destinations got %v; it means all", c.Sources[0].Destinations)
	}
}

func TestParseDefaultsForOtherAuthMethods(t *testing.T) {
	c, err := Parse([]byte(`
sources:
  - {name: a, kind: vault, vault: {address: "https://v:8200", auth: {method: approle, approle: {roleID: {env: ROLE}}}}}
  - {name: b, kind: vault, vault: {nodes: ["https://v0:8200"], auth: {method: kubernetes, kubernetes: {role: lb}}}}
  - {name: c, kind: postgres, postgres: {dsn: {env: DSN}}}
destinations: [{name: d, kind: s3, s3: {bucket: backups, endpoint: "https://s3.example.com"}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b, pg := c.Sources[0].Vault.Auth, c.Sources[1].Vault.Auth, c.Sources[2].Postgres
	if a.Token.IsSet() || a.AppRole.MountPath != "approle" {
		t.Errorf("approle defaults: %+v %+v", a, a.AppRole)
	}
	if b.Token.IsSet() || b.Kubernetes.MountPath != "kubernetes" || b.Kubernetes.TokenPath != DefaultKubernetesTokenPath {
		t.Errorf("kubernetes defaults: %+v %+v", b, b.Kubernetes)
	}
	if pg.Port != 0 || pg.SSLMode != "" {
		t.Errorf("a dsn source got connection defaults: %+v", pg)
	}
	if s3 := c.Destinations[0].S3; s3.Endpoint != "s3.example.com" || s3.Insecure {
		t.Errorf("https endpoint: %+v", s3)
	}
}

func TestParseFullValues(t *testing.T) {
	c, err := Parse([]byte(`
sources:
  - name: vault
    kind: vault
    schedule: "@every 6h"
    jitter: 90s
    vault:
      address: https://vault:8200
      clientCert: /c.pem
      clientKey: /k.pem
      tlsSkipVerify: true
      auth: {token: {file: /run/token}}
destinations:
  - name: local
    kind: file
    file: {path: ./backups}
    retention: {keepLast: 3, keepWithin: 1d12h, keepDaily: 7, keepWeekly: 4, keepMonthly: 6}
encryption:
  age: {recipientsFile: /etc/recipients, identityFile: /etc/identity}
server:
  listen: 0.0.0.0:8443
  token: {env: LIFEBOAT_TOKEN}
  openReadOnly: true
  tls: {certFile: /tls.crt, keyFile: /tls.key}
  historyLimit: 50
pushgateway: http://pushgateway:9091
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.Schedule != "@every 6h" || s.Jitter.Duration != 90*time.Second || !s.Vault.TLSSkipVerify ||
		s.Vault.Auth.Token != (Secret{File: "/run/token"}) {
		t.Errorf("source: %+v %+v", s, s.Vault)
	}
	want := catalog.Policy{KeepLast: 3, KeepWithin: catalog.Age{Days: 1, Hours: 12}, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 6}
	if c.Destinations[0].Retention != want {
		t.Errorf("retention = %+v", c.Destinations[0].Retention)
	}
	if !c.Encryption.Enabled() || c.Server.TLS.KeyFile != "/tls.key" || !c.Server.OpenReadOnly || c.Pushgateway == "" {
		t.Errorf("config: %+v", c)
	}
}

func TestLookups(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	names := func(ds []*Destination) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Name)
		}
		return out
	}
	if ds, err := c.DestinationsFor("vault"); err != nil || !reflect.DeepEqual(names(ds), []string{"local", "minio"}) {
		t.Errorf("DestinationsFor(vault) = %v, %v", names(ds), err)
	}
	if ds, err := c.DestinationsFor("workflows"); err != nil || !reflect.DeepEqual(names(ds), []string{"minio"}) {
		t.Errorf("DestinationsFor(workflows) = %v, %v", names(ds), err)
	}
	if _, err := c.DestinationsFor("nope"); err == nil || err.Error() != `no source "nope" in the config (configured: vault, workflows)` {
		t.Errorf("DestinationsFor(nope) error = %v", err)
	}
	if _, err := c.Destination("s3"); err == nil || !strings.Contains(err.Error(), "(configured: local, minio)") {
		t.Errorf("Destination(s3) error = %v", err)
	}
	if s, err := c.Source("workflows"); err != nil || s.Kind != KindPostgres {
		t.Errorf("Source(workflows) = %v, %v", s, err)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("/nonexistent/lifeboat.yaml"); err == nil || !strings.Contains(err.Error(), "read config: open /nonexistent/lifeboat.yaml") {
		t.Errorf("Load of a missing file: %v", err)
	}
	path := t.TempDir() + "/bad.yaml"
	writeFile(t, path, "sources: []\ndestinations: []\n")
	_, err := Load(path)
	want := "config " + path + " has 2 problems:\n  sources: at least one source is required\n" +
		"  destinations: at least one destination is required"
	if err == nil || err.Error() != want {
		t.Errorf("Load error:\n%v\nwant:\n%s", err, want)
	}
	writeFile(t, path, "sources: [\n")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "config "+path+": not a valid YAML document: ") {
		t.Errorf("Load of broken YAML: %v", err)
	}
}
