package config

import (
	"strings"
	"testing"
)

// GCS destinations are checked when the config is read, naming the field, so a typo fails
// `lifeboat check` instead of the first upload.
func TestGCSDestination(t *testing.T) {
	tests := []struct {
		name string
		gcs  string // the destination's gcs block
		want string // the one expected problem; "" for none
	}{
		{"bucket only", `{bucket: acme-backups}`, ""},
		{"dotted bucket", `{bucket: backups.acme.example}`, ""},
		{"underscore bucket", `{bucket: acme_backups-2}`, ""},
		{"emulator", `{bucket: b12, endpoint: "http://127.0.0.1:4443"}`, ""},
		{"private endpoint", `{bucket: b12, endpoint: "https://storage-acme.p.googleapis.com", credentialsFile: /var/run/secrets/gcs/key.json}`, ""},
		{"endpoint with the API path", `{bucket: b12, endpoint: "https://storage.googleapis.com/storage/v1/"}`, ""},
		{"chunk size", `{bucket: b12, chunkSizeMiB: 64}`, ""},
		{"bucket missing", `{endpoint: "https://storage.googleapis.com"}`, "destinations[1].gcs.bucket: required"},
		{"bucket too short", `{bucket: ab}`, `destinations[1].gcs.bucket: "ab" is not a valid bucket name: GCS bucket names are 3 to 63 characters`},
		{"bucket too long", `{bucket: ` + strings.Repeat("b", 64) + `}`, "destinations[1].gcs.bucket: "},
		{"bucket upper case", `{bucket: Backups}`, `destinations[1].gcs.bucket: "Backups" is not a valid bucket name: GCS bucket names use only lower-case letters`},
		{"bucket with a slash", `{bucket: backups/vault}`, `destinations[1].gcs.bucket: "backups/vault" is not a valid bucket name: GCS bucket names use only`},
		{"bucket ends in a dash", `{bucket: backups-}`, `destinations[1].gcs.bucket: "backups-" is not a valid bucket name: GCS bucket names start and end with a letter or digit`},
		{"bucket empty part", `{bucket: a..b}`, "destinations[1].gcs.bucket: \"a..b\" is not a valid bucket name: each dot-separated part"},
		{"bucket is an IP", `{bucket: 10.1.2.3}`, "destinations[1].gcs.bucket: \"10.1.2.3\" is not a valid bucket name: GCS bucket names cannot be IP addresses"},
		{"bucket says google", `{bucket: my-google-backups}`, `destinations[1].gcs.bucket: "my-google-backups" is not a valid bucket name: GCS bucket names cannot start with "goog"`},
		{"endpoint without scheme", `{bucket: b12, endpoint: "storage.googleapis.com"}`, `destinations[1].gcs.endpoint: must be an https://host[:port] URL (http://host:port for an emulator) (got "storage.googleapis.com")`},
		{"endpoint with another path", `{bucket: b12, endpoint: "https://storage.googleapis.com/b12"}`, `destinations[1].gcs.endpoint: must be https://host[:port], optionally followed by /storage/v1 (got "https://storage.googleapis.com/b12"); put a key prefix in prefix`},
		{"endpoint with a query", `{bucket: b12, endpoint: "https://h?x=1"}`, "destinations[1].gcs.endpoint: must not have a query or fragment"},
		{"endpoint bad port", `{bucket: b12, endpoint: "http://h:0"}`, `destinations[1].gcs.endpoint: port must be a number between 1 and 65535 (got "0")`},
		{"credentials in the endpoint are not repeated", `{bucket: b12, endpoint: "https://me:s3cr3t@h"}`,
			"destinations[1].gcs.endpoint: must not contain credentials (user:password@); set credentialsFile instead"},
		{"key file with an emulator", `{bucket: b12, endpoint: "http://127.0.0.1:4443", credentialsFile: /k.json}`,
			"destinations[1].gcs.credentialsFile: not used with a plain http:// endpoint"},
		{"chunk too large", `{bucket: b12, chunkSizeMiB: 2048}`, "destinations[1].gcs.chunkSizeMiB: must be between 1 and 1024 MiB (got 2048)"},
		{"chunk negative", `{bucket: b12, chunkSizeMiB: -1}`, "destinations[1].gcs.chunkSizeMiB: must be between 1 and 1024 MiB (got -1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkOneProblem(t, okSources+okDests+"  - {name: offsite, kind: gcs, gcs: "+tc.gcs+"}\n", tc.want)
		})
	}
}

func TestGCSKindAndBlock(t *testing.T) {
	checkOneProblem(t, okSources+okDests+"  - {name: offsite, kind: gcs}\n", "destinations[1].gcs: required for kind gcs")
	checkOneProblem(t, okSources+okDests+"  - {name: offsite, kind: s3, s3: {bucket: b12}, gcs: {bucket: b12}}\n",
		"destinations[1].gcs: not allowed for kind s3")
}

func TestGCSDefaults(t *testing.T) {
	c, err := Parse([]byte(okSources + okDests + "  - {name: offsite, kind: gcs, prefix: /prod/, gcs: {bucket: acme-backups}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Destinations[1]
	if d.GCS.ChunkSizeMiB != DefaultGCSChunkSizeMiB || d.GCS.Endpoint != "" || d.GCS.CredentialsFile != "" || d.Prefix != "prod" {
		t.Fatalf("gcs destination after defaults = %+v (prefix %q), want chunk size %d MiB and nothing else", *d.GCS, d.Prefix, DefaultGCSChunkSizeMiB)
	}
}
