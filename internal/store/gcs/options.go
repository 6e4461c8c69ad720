package gcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// Chunk sizes. A Put holds one chunk (the resumable upload resends it when a request
// fails): in its own buffer, or in the pipeline's ring, which makes room for two.
const (
	DefaultChunkSize = 8 << 20
	// ChunkAlign is GCS's granularity: every chunk but the last is a multiple of 256 KiB.
	ChunkAlign   = 256 << 10
	maxChunkSize = 1 << 30
)

// Options describe one GCS destination.
type Options struct {
	Bucket string
	// Prefix is prepended to every key with a '/' between them; leading and trailing
	// slashes are ignored.
	Prefix string
	// Endpoint overrides Google's endpoint: https://host[:port] (a private endpoint) or
	// http://host:port (an emulator, which gets no credentials: a token sent in clear text
	// could be replayed against the real bucket). A trailing /storage/v1 is accepted.
	// Empty means Google's public endpoint.
	Endpoint string
	// CredentialsFile is a service account key (JSON). Empty uses Application Default
	// Credentials: GOOGLE_APPLICATION_CREDENTIALS, then GKE Workload Identity or the
	// metadata server of the VM.
	CredentialsFile string
	// ChunkSize is the resumable upload chunk in bytes (default DefaultChunkSize, a
	// multiple of ChunkAlign).
	ChunkSize int
}

// endpoint is a parsed Endpoint.
type endpoint struct {
	api   string // the JSON API base, "scheme://host/storage/v1/"; "" = Google's default
	host  string // for messages; "storage.googleapis.com" by default
	plain bool   // http://: an emulator, no credentials
}

const googleHost = "storage.googleapis.com"

// parseEndpoint checks Endpoint. Its messages never repeat the endpoint as given: it might
// hold credentials in its user-info part.
func (o Options) parseEndpoint() (endpoint, error) {
	e := strings.TrimSpace(o.Endpoint)
	if e == "" {
		return endpoint{host: googleHost}, nil
	}
	u, err := url.Parse(e)
	switch {
	case err != nil:
		return endpoint{}, errors.New("GCS endpoint is not a valid URL: fix destinations[].gcs.endpoint")
	case u.User != nil:
		return endpoint{}, errors.New("GCS endpoint must not contain credentials: set destinations[].gcs.credentialsFile instead")
	case u.Scheme != "http" && u.Scheme != "https":
		return endpoint{}, fmt.Errorf("GCS endpoint scheme %q is not http or https: fix destinations[].gcs.endpoint", u.Scheme)
	case u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return endpoint{}, errors.New("GCS endpoint must be an https://host[:port] URL: fix destinations[].gcs.endpoint")
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" && p != "/storage/v1" {
		return endpoint{}, fmt.Errorf("GCS endpoint %s has the path %q: use https://host[:port], optionally with /storage/v1", u.Host, u.Path)
	}
	return endpoint{api: u.Scheme + "://" + u.Host + "/storage/v1/", host: u.Host, plain: u.Scheme == "http"}, nil
}

func (o Options) chunkSize() (int, error) {
	switch {
	case o.ChunkSize == 0:
		return DefaultChunkSize, nil
	case o.ChunkSize < 0 || o.ChunkSize%ChunkAlign != 0:
		return 0, fmt.Errorf("GCS chunk size %d is not a positive multiple of 256 KiB: fix destinations[].gcs.chunkSizeMiB", o.ChunkSize)
	case o.ChunkSize > maxChunkSize:
		return 0, fmt.Errorf("GCS chunk size %d is above 1 GiB, and each upload holds one chunk in memory: lower destinations[].gcs.chunkSizeMiB", o.ChunkSize)
	}
	return o.ChunkSize, nil
}

func (o Options) bucketAndPrefix() (bucket, prefix string, err error) {
	if o.Bucket == "" {
		return "", "", errors.New("GCS destination has no bucket: set destinations[].gcs.bucket")
	}
	if strings.ContainsAny(o.Bucket, "/ \t\n") {
		return "", "", fmt.Errorf("GCS bucket name %q is invalid: fix destinations[].gcs.bucket", o.Bucket)
	}
	prefix = strings.Trim(o.Prefix, "/")
	if prefix != "" {
		if err := keys.Check(prefix); err != nil {
			return "", "", fmt.Errorf("GCS prefix %q is invalid: %w", o.Prefix, err)
		}
		prefix += "/"
	}
	return o.Bucket, prefix, nil
}

// serviceAccountKey reads CredentialsFile and makes sure it is a service account key, so
// that a wrong file (a Workload Identity config, an OAuth client secret, a PEM key) is
// named here instead of failing every request. Messages never quote the file's content.
func (o Options) serviceAccountKey() ([]byte, error) {
	data, err := os.ReadFile(o.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("read the GCS credentials file: %w: check destinations[].gcs.credentialsFile "+
			"and that the Secret holding the key is mounted", err)
	}
	var key struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &key); err != nil {
		return nil, fmt.Errorf("GCS credentials file %s is not JSON: download a service account key in JSON format "+
			"(gcloud iam service-accounts keys create), or leave credentialsFile out to use Workload Identity", o.CredentialsFile)
	}
	if key.Type != "service_account" {
		return nil, fmt.Errorf("GCS credentials file %s holds credentials of type %q, not a service account key "+
			"(\"service_account\"): point it at a service account key, or leave credentialsFile out to use "+
			"Application Default Credentials (Workload Identity, GOOGLE_APPLICATION_CREDENTIALS)", o.CredentialsFile, key.Type)
	}
	if key.ClientEmail == "" || key.PrivateKey == "" {
		return nil, fmt.Errorf("GCS credentials file %s is a service account key without client_email or private_key: "+
			"create a new key for the service account", o.CredentialsFile)
	}
	return data, nil
}
