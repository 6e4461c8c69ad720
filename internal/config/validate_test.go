package config

import (
	"errors"
	"strings"
	"testing"
)

// okSources and okDests are valid blocks that the error cases below combine with a
// broken one, so each case shows exactly the errors its own block causes.
const okSources = `
sources:
  - {name: vault, kind: vault, vault: {address: "https://vault:8200"}}
`
const okDests = `
destinations:
  - {name: local, kind: file, file: {path: /b}}
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty document", ``, []string{
			"sources: at least one source is required",
			"destinations: at least one destination is required",
		}},
		{"top level is a list", `[1, 2]`, []string{"must be a mapping (got a list)"}},
		{"unknown top-level field", okSources + okDests + "retention: {keepLast: 1}\n", []string{
			`retention: unknown field; known fields here: destinations, encryption, notifications, pushgateway, server, signing, sources`,
		}},
		{"typo suggests the field", okDests + `
sources:
  - {name: vault, kind: vault, vault: {adress: "https://v:8200"}}
`, []string{
			`sources[0].vault.adress: unknown field (did you mean "address"?)`,
			"sources[0].vault.address: required unless nodes is given",
		}},
		{"field names are case-sensitive", okDests + `
sources:
  - {Name: vault, kind: vault, vault: {address: "https://v:8200"}}
`, []string{
			`sources[0].Name: unknown field (did you mean "name"?)`,
			"sources[0].name: required",
		}},
		{"wrong kinds", okDests + `
sources:
  - name: mysql
    kind: mysql
  - name: vault
    kind: vault
  - name: pg
    kind: postgres
    vault: {address: "https://v:8200"}
    postgres: {host: db, database: argo}
`, []string{
			`sources[0].kind: must be one of vault, postgres, kubernetes (got "mysql")`,
			"sources[1].vault: required for kind vault",
			"sources[2].vault: not allowed for kind postgres",
		}},
		{"names", okDests + `
sources:
  - {kind: vault, vault: {address: "https://v:8200"}}
  - {name: Vault_1, kind: vault, vault: {address: "https://v:8200"}}
  - {name: a, kind: vault, vault: {address: "https://v:8200"}}
  - {name: a, kind: vault, vault: {address: "https://v:8200"}}
`, []string{
			"sources[0].name: required",
			`sources[1].name: invalid name "Vault_1": use 1 to 41 characters, a lowercase letter first, then lowercase letters, digits or '-'`,
			`sources[3].name: duplicate source name "a"`,
		}},
		{"schedule, jitter, destinations", okDests + `
sources:
  - name: vault
    kind: vault
    schedule: "0 * * *"
    jitter: 5
    destinations: [local, s3, local]
    vault: {address: "https://v:8200"}
  - {name: v2, kind: vault, schedule: "61 * * * *", jitter: 5x, vault: {address: "https://v:8200"}}
`, []string{
			`sources[0].jitter: must be a duration such as "90s", "5m", "1h30m" or "30d" (got 5)`,
			`sources[1].jitter: must be a duration such as "90s", "5m", "1h30m" or "30d" (got "5x"); units: ns, us, ms, s, m, h, and d (24h) first`,
			`sources[0].schedule: invalid cron expression "0 * * *" (expected exactly 5 fields, found 4: [0 * * *]); use 5 fields, minute hour day-of-month month day-of-week, like "0 * * * *", or @hourly, @daily, @every 6h`,
			`sources[0].destinations[1]: unknown destination "s3" (configured: local)`,
			`sources[0].destinations[2]: destination "local" is listed twice`,
			`sources[1].schedule: invalid cron expression "61 * * * *" (end of range (61) above maximum (59): 61); use 5 fields, minute hour day-of-month month day-of-week, like "0 * * * *", or @hourly, @daily, @every 6h`,
		}},
		{"vault block", okDests + `
sources:
  - name: vault
    kind: vault
    vault:
      address: vault:8200
      nodes: ["https://v0:8200", "https://v0:8200"]
      clientCert: /c.pem
      timeout: -1s
      tlsSkipVerify: "no"
`, []string{
			`sources[0].vault.tlsSkipVerify: must be true or false (got "no")`,
			`sources[0].vault.address: must be an http:// or https:// URL with a host (got "vault:8200")`,
			`sources[0].vault.nodes[1]: node "https://v0:8200" is listed twice`,
			"sources[0].vault.clientKey: required when clientCert is set",
			"sources[0].vault.timeout: must not be negative (got -1s)",
		}},
		{"inline secret", okDests + `
sources:
  - name: vault
    kind: vault
    vault:
      address: https://v:8200
      auth: {token: "s.abcdef"}
`, []string{
			"sources[0].vault.auth.token: inline secrets are not allowed; use {file: /path} or {env: NAME}",
		}},
		{"secret shape", okDests + `
sources:
  - name: vault
    kind: vault
    vault:
      address: https://v:8200
      auth: {token: {file: /a, env: B}}
  - name: v2
    kind: vault
    vault:
      address: https://v:8200
      auth: {token: {value: x}}
  - name: v3
    kind: vault
    vault:
      address: https://v:8200
      auth: {token: {env: "1BAD"}}
`, []string{
			`sources[1].vault.auth.token: a secret has only file or env (json: unknown field "value"); use {file: /path} or {env: NAME}`,
			"sources[0].vault.auth.token: set either file or env, not both",
			`sources[2].vault.auth.token.env: "1BAD" is not an environment variable name`,
		}},
		{"auth methods", okDests + `
sources:
  - {name: a, kind: vault, vault: {address: "https://v:8200", auth: {method: ldap}}}
  - {name: b, kind: vault, vault: {address: "https://v:8200", auth: {method: approle}}}
  - {name: c, kind: vault, vault: {address: "https://v:8200", auth: {method: approle, approle: {secretID: {env: S}}}}}
  - {name: d, kind: vault, vault: {address: "https://v:8200", auth: {method: kubernetes, kubernetes: {}, token: {env: T}}}}
  - {name: e, kind: vault, vault: {address: "https://v:8200", auth: {kubernetes: {role: r}}}}
`, []string{
			`sources[0].vault.auth.method: must be one of token, approle, kubernetes (got "ldap")`,
			"sources[1].vault.auth.approle: required for method approle",
			"sources[2].vault.auth.approle.roleID: required; use {file: /path} or {env: NAME}",
			"sources[3].vault.auth.token: not allowed for method kubernetes",
			"sources[3].vault.auth.kubernetes.role: required",
			"sources[4].vault.auth.kubernetes: not allowed for method token",
		}},
		{"compression", okDests + `
sources:
  - {name: a, kind: vault, vault: {address: "https://v:8200", compression: gzip, compressionLevel: 5, compressionThreads: -1}}
  - {name: b, kind: vault, vault: {address: "https://v:8200", compression: zstd, compressionThreads: 17}}
  - {name: c, kind: postgres, postgres: {host: db, database: argo, compressionThreads: 99}}
  - {name: d, kind: vault, vault: {address: "https://v:8200", compression: none, compressionLevel: 4, compressionThreads: 16}}
`, []string{
			`sources[0].vault.compression: must be one of auto, zstd, none (got "gzip")`,
			"sources[0].vault.compressionLevel: must be 1 (fastest), 2 (default), 3 (better) or 4 (best) (got 5)",
			"sources[0].vault.compressionThreads: must be between 1 and 16 (got -1); more threads than the pod's CPU limit are not used",
			"sources[1].vault.compressionThreads: must be between 1 and 16 (got 17); more threads than the pod's CPU limit are not used",
			"sources[2].postgres.compressionThreads: must be between 1 and 16 (got 99); more threads than the pod's CPU limit are not used",
		}},
		{"postgres", okDests + `
sources:
  - {name: a, kind: postgres, postgres: {port: 70000, sslMode: on, compressionLevel: 9}}
  - {name: b, kind: postgres, postgres: {dsn: {env: DSN}, host: db, user: u, password: {env: P}}}
  - {name: c, kind: postgres, postgres: {host: db, database: argo, port: "5432x"}}
`, []string{
			`sources[2].postgres.port: must be a whole number (got "5432x")`,
			"sources[0].postgres.host: required",
			"sources[0].postgres.database: required",
			"sources[0].postgres.port: must be between 1 and 65535 (got 70000)",
			`sources[0].postgres.sslMode: must be one of disable, allow, prefer, require, verify-ca, verify-full (got "true")`,
			"sources[0].postgres.compressionLevel: must be 1 (fastest), 2 (default), 3 (better) or 4 (best) (got 9)",
			"sources[1].postgres.host: not allowed together with dsn; put it in the dsn instead",
			"sources[1].postgres.user: not allowed together with dsn; put it in the dsn instead",
			"sources[1].postgres.password: not allowed together with dsn; put it in the dsn instead",
		}},
		{"kubernetes", okDests + `
sources:
  - {name: a, kind: kubernetes, kubernetes: {}}
  - name: b
    kind: kubernetes
    kubernetes:
      api: {kubeconfig: /k, server: "https://k:6443"}
      namespaces: [argo, argo]
      namespaceSelector: "a in (b"
      resources: [ConfigMaps]
      clusterResources: [{resource: clusterroles.rbac.authorization.k8s.io}]
      exclude: [{}, {name: "[x"}]
`, []string{
			"sources[0].kubernetes.namespaces: required: list the namespaces to back up, or set namespaceSelector to a label selector",
			"sources[1].kubernetes.api.kubeconfig: not allowed together with server, caFile or tokenFile; use one way to reach the API server",
			"sources[1].kubernetes.namespaceSelector: not allowed together with namespaces; use one of them",
			`sources[1].kubernetes.namespaces[1]: namespace "argo" is listed twice`,
			`sources[1].kubernetes.namespaceSelector: invalid label selector "a in (b" (unable to parse requirement: found '', expected: ',' or ')'); write it like kubectl -l, e.g. "app=argo,tier!=test"`,
			`sources[1].kubernetes.resources[0]: must be a lowercase plural resource with an optional group, like configmaps or roles.rbac.authorization.k8s.io (got "ConfigMaps")`,
			"sources[1].kubernetes.clusterResources[0].names: required: name the objects to back up (cluster-scoped objects are chosen by name)",
			"sources[1].kubernetes.exclude[0]: matches every object; set at least one of resource, name, namespace, selector, type",
			`sources[1].kubernetes.exclude[1].name: invalid glob "[x" (syntax error in pattern)`,
		}},
		{"restore hooks reach the API server one way", okDests + `
sources:
  - {name: a, kind: vault, vault: {address: "https://v:8200"}, restore: {kubernetes: {kubeconfig: /k, context: prod}}}
  - {name: b, kind: vault, vault: {address: "https://v:8200"}, restore: {kubernetes: {}}}
  - {name: c, kind: vault, vault: {address: "https://v:8200"}, restore: {kubernetes: {context: prod, caFile: /ca}}}
  - {name: d, kind: vault, vault: {address: "https://v:8200"}, restore: {kubernetes: {kubeconfig: /k, tokenFile: /t, server: "k:6443"}}}
`, []string{
			"sources[2].restore.kubernetes.context: needs kubeconfig",
			"sources[3].restore.kubernetes.kubeconfig: not allowed together with server, caFile or tokenFile; use one way to reach the API server",
			`sources[3].restore.kubernetes.server: must be an http:// or https:// URL with a host (got "k:6443")`,
		}},
		{"restore hooks pass environment variables by name", okDests + `
sources:
  - {name: a, kind: vault, vault: {address: "https://v:8200"}, restore: {passEnv: [SLACK_WEBHOOK_URL, _X1], before: [[/bin/true]]}}
  - {name: b, kind: vault, vault: {address: "https://v:8200"}, restore: {passEnv: ["AWS_*", "1X", "A=B"]}}
`, []string{
			`sources[1].restore.passEnv[0]: "AWS_*" is not an environment variable name (letters, digits and _, not starting with a digit)`,
			`sources[1].restore.passEnv[1]: "1X" is not an environment variable name (letters, digits and _, not starting with a digit)`,
			`sources[1].restore.passEnv[2]: "A=B" is not an environment variable name (letters, digits and _, not starting with a digit)`,
		}},
		{"destinations", okSources + `
destinations:
  - {name: local, kind: file}
  - {name: local, kind: s3, s3: {endpoint: "https://h/path", insecure: true}, file: {path: /x}}
  - {name: s3, kind: s3, prefix: "a//b", s3: {endpoint: "h:9000/path", bucket: b, partSizeMiB: 1, accessKeyID: {env: AK}}}
  - {name: gcs, kind: gcs}
  - {name: r, kind: file, file: {path: /r}, retention: {keepLast: -1, keepWithin: 30x, keepMonthly: -2}}
`, []string{
			`destinations[4].retention.keepWithin: invalid age "30x": unknown unit "x"; write numbers with units, combined like "36h", "30d", "2w", "1d12h" or "1y6m": h (hours), d (days), w (weeks), m (months), y (years)`,
			"destinations[0].file: required for kind file",
			`destinations[1].name: duplicate destination name "local"`,
			"destinations[1].file: not allowed for kind s3",
			"destinations[1].s3.bucket: required",
			"destinations[1].s3.endpoint: https:// contradicts insecure: true; drop one of them",
			`destinations[2].prefix: "a//b" has an empty, '.' or '..' segment; use a/b style`,
			`destinations[2].s3.bucket: "b" is not a valid bucket name: bucket name cannot be shorter than 3 characters; S3 bucket names are 3 to 63 lower-case letters, digits, '.' and '-'`,
			`destinations[2].s3.endpoint: must be host[:port] without a path (got "h:9000/path"); put a key prefix in prefix`,
			"destinations[2].s3.secretAccessKey: required when accessKeyID is set",
			"destinations[2].s3.partSizeMiB: must be between 5 and 5120 MiB (got 1)",
			"destinations[3].gcs: required for kind gcs",
			"destinations[4].retention.keepLast: must not be negative (got -1)",
			"destinations[4].retention.keepMonthly: must not be negative (got -2)",
		}},
		{"encryption", okSources + okDests + `
encryption:
  age:
    recipients:
      - age1notakey
      - AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ
`, []string{
			`encryption.age.recipients[0]: not an age public key (malformed recipient "age1notakey": invalid character data part: s[1]=111); recipients start with age1`,
			"encryption.age.recipients[1]: this is an age identity (a PRIVATE key), not a recipient: remove it from the config, replace it with its public key (age-keygen -y) and consider it exposed",
		}},
		{"signing", okSources + okDests + `
signing:
  privateKey: {file: /k, env: K}
  publicKeys:
    - ed25519:AAAA
    - age1qqqq
    - ed25519:4f0u9E2zOzrJRk8ahmQyX6sTyn2QQxANNgOMnTmPxFEAoPzp7QdXGhK2kKqB9Uqvtz3ZnT+ML6J7gU1CG8xiLg==
`, []string{
			"signing.privateKey: set either file or env, not both",
			`signing.publicKeys[0]: not a public key: "ed25519:" must be followed by the base64 of 32 bytes`,
			`signing.publicKeys[1]: not a public key: want "ed25519:" followed by base64, or a PEM "PUBLIC KEY" block (` + "`lifeboat keygen`" + ` prints one)`,
			"signing.publicKeys[2]: this is not a public key (it has the size of a PRIVATE key): remove it from the config and consider it exposed",
		}},
		{"signing without keys", okSources + okDests + "signing: {}\n", []string{
			"signing: set privateKey (where backups run), publicKeys or publicKeysFile (where backups are read), or remove signing",
		}},
		{"inline private key refused", okSources + okDests + "signing: {privateKey: \"-----BEGIN PRIVATE KEY-----\"}\n", []string{
			"signing.privateKey: inline secrets are not allowed; use {file: /path} or {env: NAME}",
			"signing: set privateKey (where backups run), publicKeys or publicKeysFile (where backups are read), or remove signing",
		}},
		{"encryption without recipients", okSources + okDests + "encryption: {age: {identityFile: /id}}\n", []string{
			"encryption.age: set recipients or recipientsFile (an identityFile alone would leave backups unencrypted)",
		}},
		{"server", okSources + okDests + `
server:
  listen: 0.0.0.0:8080
  tls: {certFile: /c}
  historyLimit: -1
pushgateway: pushgateway:9091
`, []string{
			"server.token: required when listen (0.0.0.0:8080) is reachable from other hosts; set token: {file: /path} or listen on 127.0.0.1",
			"server.tls.keyFile: required",
			"server.historyLimit: must be at least 1 (got -1)",
			`pushgateway: must be an http:// or https:// URL with a host (got "pushgateway:9091")`,
		}},
		{"credentials in a URL are refused, not echoed", okSources + okDests + "pushgateway: http://ops:hunter2@pushgateway:9091\n", []string{
			"pushgateway: must not carry credentials (user:password@): secrets never go in the config",
		}},
		{"stall timeout too short", okDests + `
sources:
  - {name: vault, kind: vault, stallTimeout: 10ms, vault: {address: "https://v:8200"}}
`, []string{
			"sources[0].stallTimeout: must be at least 1s (got 10ms); leave it out for the default 5m",
		}},
		{"server listen", okSources + okDests + "server: {listen: localhost}\n", []string{
			`server.listen: must be host:port, like 127.0.0.1:8080 or :8080 (got "localhost")`,
		}},
		{"wrong shapes", `
sources: {name: vault}
destinations:
  - name: local
    kind: file
    file: [/b]
  - oops
`, []string{
			// Keys are checked in sorted order; "sources: at least one source is required"
			// would only repeat the first problem, so it is left out.
			"destinations[0].file: must be a mapping (got a list)",
			`destinations[1]: must be a mapping (got "oops")`,
			"sources: must be a list (got a mapping)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want a *ValidationError", err)
			}
			var got []string
			for _, fe := range ve.Errors {
				got = append(got, fe.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestParseRejectsDuplicateKeysAndBrokenYAML(t *testing.T) {
	for doc, want := range map[string]string{
		okSources + okDests + "pushgateway: a\npushgateway: b\n": `key "pushgateway" already set in map`,
		"sources: [":      "not a valid YAML document",
		"\tsources: []\n": "not a valid YAML document",
	} {
		_, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want %q", doc, err, want)
		}
	}
}

func TestValidationErrorFormat(t *testing.T) {
	one := &ValidationError{File: "/etc/l.yaml", Errors: []FieldError{{"a.b", "required"}}}
	if one.Error() != "config /etc/l.yaml: a.b: required" {
		t.Errorf("one error: %q", one.Error())
	}
	two := &ValidationError{Errors: []FieldError{{"a", "x"}, {"", "y"}}}
	if two.Error() != "config has 2 problems:\n  a: x\n  y" {
		t.Errorf("two errors: %q", two.Error())
	}
}

// S3 bucket names and endpoints are checked when the config is read, with the rules the S3
// client applies when a run opens the destination.
func TestS3BucketAndEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		s3       string // the destination's s3 block
		want     string // the one expected problem; "" for none
		endpoint string // the endpoint after defaults, when want is ""
		insecure bool
	}{
		{"plain host", `{bucket: backups, endpoint: minio.minio.svc}`, "", "minio.minio.svc", false},
		{"host and port", `{bucket: backups, endpoint: "minio:9000"}`, "", "minio:9000", false},
		{"default endpoint", `{bucket: backups}`, "", "s3.amazonaws.com", false},
		{"IPv4", `{bucket: backups, endpoint: "127.0.0.1:9000"}`, "", "127.0.0.1:9000", false},
		{"IPv6", `{bucket: backups, endpoint: "[::1]:9000"}`, "", "[::1]:9000", false},
		{"https URL as copied", `{bucket: backups, endpoint: "https://s3.eu-west-1.amazonaws.com/"}`, "", "s3.eu-west-1.amazonaws.com", false},
		{"http URL turns insecure on", `{bucket: backups, endpoint: "http://minio:9000"}`, "", "minio:9000", true},
		{"dotted bucket", `{bucket: my.backups-2}`, "", "s3.amazonaws.com", false},
		{"bucket too short", `{bucket: b}`, `s3.bucket: "b" is not a valid bucket name: bucket name cannot be shorter than 3 characters`, "", false},
		{"bucket with a slash", `{bucket: backups/vault}`, `s3.bucket: "backups/vault" is not a valid bucket name: bucket name cannot contain path separators`, "", false},
		{"bucket too long", `{bucket: ` + strings.Repeat("b", 64) + `}`, "bucket name cannot be longer than 63 characters", "", false},
		{"bucket is an IP", `{bucket: 10.1.2.3}`, "bucket name cannot be an ip address", "", false},
		{"bucket with spaces", `{bucket: "my backups"}`, "bucket name contains invalid characters", "", false},
		{"bucket missing", `{endpoint: minio}`, "s3.bucket: required", "", false},
		{"credentials in the endpoint are not repeated", `{bucket: backups, endpoint: "https://AKIA:s3cr3t@minio:9000"}`,
			"s3.endpoint: must not contain credentials (user:password@); set accessKeyID and secretAccessKey instead", "", false},
		{"other scheme", `{bucket: backups, endpoint: "ftp://minio"}`, `s3.endpoint: must be host[:port], optionally after https:// or http:// (got "ftp://minio")`, "", false},
		{"path", `{bucket: backups, endpoint: "https://minio:9000/backups"}`, `s3.endpoint: must be host[:port] without a path (got "minio:9000/backups")`, "", false},
		{"query", `{bucket: backups, endpoint: "minio:9000?x=1"}`, `s3.endpoint: must be host[:port] without a query or fragment (got "minio:9000?x=1")`, "", false},
		{"bad port", `{bucket: backups, endpoint: "minio:http"}`, `s3.endpoint: port must be a number between 1 and 65535 (got "http" in "minio:http")`, "", false},
		{"port out of range", `{bucket: backups, endpoint: "minio:70000"}`, `port must be a number between 1 and 65535 (got "70000"`, "", false},
		{"bare IPv6", `{bucket: backups, endpoint: "::1"}`, `s3.endpoint: must be host[:port] (got "::1"); write an IPv6 address as [address]:port`, "", false},
		{"bad host", `{bucket: backups, endpoint: "-minio"}`, `s3.endpoint: "-minio" is not a valid host name or IP address`, "", false},
		{"scheme only", `{bucket: backups, endpoint: "https://"}`, "s3.endpoint: must be host[:port] (got no host)", "", false},
		{"https with insecure", `{bucket: backups, endpoint: "https://minio", insecure: true}`, "s3.endpoint: https:// contradicts insecure: true", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(okSources + okDests + "  - {name: offsite, kind: s3, s3: " + tc.s3 + "}\n"))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Destinations[1].S3; got.Endpoint != tc.endpoint || got.Insecure != tc.insecure || got.Region != "" {
					t.Errorf("s3 after defaults = %+v, want endpoint %q insecure %v and no region", *got, tc.endpoint, tc.insecure)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) != 1 {
				t.Fatalf("Parse = %v, want exactly one problem containing %q", err, tc.want)
			}
			got := ve.Errors[0].Error()
			if !strings.HasPrefix(got, "destinations[1].") || !strings.Contains(got, tc.want) {
				t.Errorf("problem %q, want one at destinations[1] containing %q", got, tc.want)
			}
			if strings.Contains(got, "s3cr3t") {
				t.Errorf("problem %q repeats the endpoint's secret", got)
			}
		})
	}
}

// Drills and recover read the scratch Vault with drill.vault.token, or else the source's
// own token: with AppRole or Kubernetes auth there is none, so the config must name one.
func TestDrillVaultToken(t *testing.T) {
	const approle = `{method: approle, approle: {roleID: {env: ROLE}, secretID: {file: /s}}}`
	const kube = `{method: kubernetes, kubernetes: {role: lb}}`
	tests := []struct {
		name  string
		auth  string // the source's vault.auth block; "" for the default (token)
		drill string // the drill.vault block
		want  string // the expected problem; "" for none
	}{
		{"token auth falls back to the source token", "", `{unsealKeys: {file: /k}}`, ""},
		{"token auth with a file token", `{method: token, token: {file: /t}}`, `{unsealKeys: {file: /k}}`, ""},
		{"approle without a drill token", approle, `{unsealKeys: {file: /k}}`,
			"sources[0].drill.vault.token: required when vault.auth.method is approle: drills and recover read the restored scratch Vault with a token of the backed-up cluster"},
		{"kubernetes without a drill token", kube, `{unsealKeys: {file: /k}}`,
			"sources[0].drill.vault.token: required when vault.auth.method is kubernetes"},
		{"approle with a file token", approle, `{unsealKeys: {file: /k}, token: {file: /t}}`, ""},
		{"kubernetes with an env token", kube, `{unsealKeys: {env: KEYS}, token: {env: DRILL_TOKEN}}`, ""},
		{"an inline token is still refused", approle, `{unsealKeys: {file: /k}, token: "s.abc"}`, "sources[0].drill.vault.token:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vault := `{address: "https://vault:8200"}`
			if tc.auth != "" {
				vault = `{address: "https://vault:8200", auth: ` + tc.auth + `}`
			}
			doc := okDests + "sources:\n  - {name: vault, kind: vault, vault: " + vault + ", drill: {vault: " + tc.drill + "}}\n"
			checkOneProblem(t, doc, tc.want)
		})
	}
}

func TestSuspiciousShrink(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    float64
		wantErr string
	}{
		{"", 0.5, ""},
		{"suspiciousShrink: 0", 0, ""},
		{"suspiciousShrink: 0.2", 0.2, ""},
		{"suspiciousShrink: 1", 0, "sources[0].suspiciousShrink: must be a fraction from 0 (off) to below 1"},
		{"suspiciousShrink: -0.1", 0, "sources[0].suspiciousShrink: must be a fraction"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			c, err := Parse([]byte(`
sources:
  - name: vault
    kind: vault
    ` + tc.value + `
    vault: {address: "http://127.0.0.1:8200", auth: {token: {env: VAULT_TOKEN}}}
destinations:
  - {name: local, kind: file, file: {path: /tmp/b}}
`))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Sources[0].Shrink(); got != tc.want {
				t.Errorf("Shrink() = %g, want %g", got, tc.want)
			}
		})
	}
}

// drill.vault.seal replaces the unseal keys for auto-unsealed clusters; its credentials
// come from files or env, never inline.
func TestDrillVaultSeal(t *testing.T) {
	tests := []struct {
		name  string
		drill string // the drill.vault block
		want  string // the expected problem; "" for none
	}{
		{"transit with a token file", `{seal: {type: transit, parameters: {address: "https://t:8200", key_name: k}, secrets: {token: {file: /t}}}}`, ""},
		{"static with the key from env", `{seal: {type: static, parameters: {current_key_id: k1}, secrets: {current_key: {env: KEY}}}}`, ""},
		{"awskms with ambient credentials", `{seal: {type: awskms, parameters: {region: eu-west-1, kms_key_id: alias/v}}}`, ""},
		{"unknown type", `{seal: {type: kms}}`, "sources[0].drill.vault.seal.type: unknown seal type \"kms\": use one of transit, awskms, gcpckms, azurekeyvault, static, pkcs11"},
		{"inline token", `{seal: {type: transit, parameters: {token: s.abc}}}`, "sources[0].drill.vault.seal.parameters.token: is a credential: move it to secrets as token: {file: /path} or {env: NAME}"},
		{"inline secret", `{seal: {type: transit, secrets: {token: s.abc}}}`, "sources[0].drill.vault.seal.secrets.token:"},
		{"set twice", `{seal: {type: transit, parameters: {key_name: k}, secrets: {key_name: {file: /k}}}}`, "sources[0].drill.vault.seal.secrets.key_name: also set in parameters"},
		{"bad parameter name", `{seal: {type: transit, parameters: {"key name": k}}}`, "sources[0].drill.vault.seal.parameters.key name: not a seal parameter name"},
		{"seal and unseal keys", `{seal: {type: transit}, unsealKeys: {file: /k}}`, "sources[0].drill.vault.unsealKeys: not used with seal"},
		{"neither", `{mounts: [secret/]}`, "sources[0].drill.vault.unsealKeys:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := okDests + "sources:\n  - {name: vault, kind: vault, vault: {address: \"https://vault:8200\"}, drill: {vault: " + tc.drill + "}}\n"
			checkOneProblem(t, doc, tc.want)
		})
	}
}

// checkOneProblem parses doc and wants it valid (want "") or refused with exactly one
// problem starting with want.
func checkOneProblem(t *testing.T, doc, want string) {
	t.Helper()
	_, err := Parse([]byte(doc))
	if want == "" {
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 1 || !strings.HasPrefix(ve.Errors[0].Error(), want) {
		t.Fatalf("Parse = %v, want exactly one problem starting with %q", err, want)
	}
}

// Plain HTTP to a Vault that is not on this host is refused unless the operator says the
// path is trusted; loopback (tests, a local Vault agent) is always fine.
func TestVaultInsecureHTTP(t *testing.T) {
	tests := []struct {
		name, vault, want string
	}{
		{"https anywhere", `{address: "https://vault.vault.svc:8200"}`, ""},
		{"http on loopback", `{address: "http://127.0.0.1:8200"}`, ""},
		{"http on localhost", `{address: "http://localhost:8200"}`, ""},
		{"http on IPv6 loopback", `{address: "http://[::1]:8200"}`, ""},
		{"http to a service", `{address: "http://vault.vault.svc:8200"}`,
			"sources[0].vault.address: plain http:// to vault.vault.svc:8200 sends the Vault token and every snapshot over the network unencrypted; use https://"},
		{"http to a node", `{nodes: ["https://v0:8200", "http://10.0.0.7:8200"]}`,
			"sources[0].vault.nodes[1]: plain http:// to 10.0.0.7:8200"},
		{"error names the switch", `{address: "http://vault:8200"}`, ""},
		{"allowed explicitly", `{address: "http://vault:8200", nodes: ["http://v0:8200"], allowInsecureHTTP: true}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := okDests + "sources:\n  - {name: vault, kind: vault, vault: " + tc.vault + "}\n"
			if tc.name == "error names the switch" {
				_, err := Parse([]byte(doc))
				if err == nil || !strings.Contains(err.Error(), "set sources[0].vault.allowInsecureHTTP: true") {
					t.Fatalf("Parse = %v, want the error to name sources[0].vault.allowInsecureHTTP", err)
				}
				return
			}
			checkOneProblem(t, doc, tc.want)
		})
	}
}
