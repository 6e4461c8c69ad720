// Package gcs is a destination in a Google Cloud Storage bucket, spoken to through the JSON
// API over net/http. It does not use cloud.google.com/go/storage: that client brings gRPC,
// xDS and OpenTelemetry with it, whose package initialisation alone costs every lifeboat
// process about 18 MiB of memory whether or not GCS is configured. Credentials come from
// cloud.google.com/go/auth, which is light.
//
// Put streams as a resumable upload of unknown size, one chunk at a time (straight from the
// pipeline's ring when it is given one, else through one chunk buffer). GCS creates the
// object only when the final chunk is accepted, so an object is complete or absent: a
// failed or cancelled Put never sends the final chunk and cancels the session.
package gcs

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// maxAttempts bounds the tries of one request (or one chunk of an upload). A destination
// that is down must fail within seconds so the run reports it (the other destinations carry
// on), and a hiccup should not fail a backup.
const maxAttempts = 4

// scope is what lifeboat's token may do: read and write objects, nothing else.
const scope = "https://www.googleapis.com/auth/devstorage.read_write"

// Store keeps objects in one bucket under a prefix.
type Store struct {
	http      *http.Client
	creds     *auth.Credentials // nil for a plain-HTTP emulator: no token is sent
	api       string            // JSON API base, ".../storage/v1/"
	upload    string            // upload base, ".../upload/storage/v1/"
	apiHost   string            // host[:port] of both, the only one that gets the token
	name      string            // bucket name
	prefix    string            // "" or ending in '/'
	host      string            // endpoint host, for messages
	where     string            // what String returns
	chunkSize int
	credsDesc string // where the credentials come from, for messages
}

var _ store.Store = (*Store)(nil)

// New configures the destination. It does not send a request (Check does), but finding
// Application Default Credentials may ask the metadata server whether this is GCE.
func New(o Options) (*Store, error) {
	ep, err := o.parseEndpoint()
	if err != nil {
		return nil, err
	}
	bucket, prefix, err := o.bucketAndPrefix()
	if err != nil {
		return nil, err
	}
	chunkSize, err := o.chunkSize()
	if err != nil {
		return nil, err
	}
	var (
		creds *auth.Credentials
		desc  string
	)
	detect := &credentials.DetectOptions{Scopes: []string{scope}}
	switch {
	case ep.plain:
		if o.CredentialsFile != "" {
			return nil, fmt.Errorf("GCS endpoint %s is plain HTTP (an emulator), where no credentials are sent: "+
				"use an https:// endpoint, or drop destinations[].gcs.credentialsFile", ep.host)
		}
		desc = "no credentials (plain HTTP emulator)"
	case o.CredentialsFile != "":
		key, err := o.serviceAccountKey()
		if err != nil {
			return nil, err
		}
		desc = "the service account key in " + o.CredentialsFile
		creds, err = credentials.NewCredentialsFromJSON(credentials.ServiceAccount, key, detect)
		if err != nil {
			return nil, newClientErr(bucket, desc, err)
		}
	default:
		desc = "Application Default Credentials (Workload Identity, the metadata server or GOOGLE_APPLICATION_CREDENTIALS)"
		creds, err = credentials.DetectDefault(detect)
		if err != nil {
			return nil, newClientErr(bucket, desc, err)
		}
	}
	base := "https://" + googleHost + "/"
	if ep.api != "" {
		base = strings.TrimSuffix(ep.api, "storage/v1/")
	}
	baseURL, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	return &Store{
		http:      newHTTPClient(),
		apiHost:   baseURL.Host,
		creds:     creds,
		api:       base + "storage/v1/",
		upload:    base + "upload/storage/v1/",
		name:      bucket,
		prefix:    prefix,
		host:      ep.host,
		where:     describe(bucket, prefix, ep),
		chunkSize: chunkSize,
		credsDesc: desc,
	}, nil
}

func newClientErr(bucket, creds string, err error) error {
	return fmt.Errorf("GCS client for gs://%s using %s: %w: set destinations[].gcs.credentialsFile to a service "+
		"account key, or give the pod a Google identity (GKE Workload Identity)", bucket, creds, err)
}

// newHTTPClient is the store's own client: its connection pool is closed with the store,
// and redirects are not followed (an upload's 308 is an answer, not a redirect).
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 8
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Name is how a GCS destination is named for operators, by String and for a destination
// that could not be opened: "gs://bucket/prefix", followed by the endpoint's host when it
// is not Google's.
func Name(bucket, prefix, endpointURL string) string {
	ep, err := (Options{Endpoint: endpointURL}).parseEndpoint()
	if err != nil {
		ep = endpoint{}
	}
	return describe(bucket, prefix, ep)
}

func describe(bucket, prefix string, ep endpoint) string {
	name := "gs://" + strings.TrimSuffix(bucket+"/"+strings.Trim(prefix, "/"), "/")
	if ep.api != "" {
		name += " (" + ep.host + ")"
	}
	return name
}

// String names the destination for operators: "gs://bucket/prefix (endpoint)".
func (s *Store) String() string { return s.where }

// object maps a key to its object name in the bucket.
func (s *Store) object(key string) (string, error) {
	if err := keys.Check(key); err != nil {
		return "", fmt.Errorf("%s: %w", s, err)
	}
	return s.prefix + key, nil
}

// bucketURL is the JSON API URL of the bucket, followed by suffix (a path and query).
func (s *Store) bucketURL(suffix string) string {
	return s.api + "b/" + url.PathEscape(s.name) + suffix
}

// objectURL is the JSON API URL of an object (its metadata; with alt=media its content).
// The name is escaped whole, slashes included, as the API wants.
func (s *Store) objectURL(name string, query url.Values) string {
	u := s.bucketURL("/o/" + url.PathEscape(name))
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// Check makes sure the bucket exists and that the credentials may list it, so a run fails
// up front with a clear message instead of after streaming a backup. It lists rather than
// reading the bucket's metadata, which would need storage.buckets.get on top of the object
// permissions lifeboat needs. It does not write.
func (s *Store) Check(ctx context.Context) error {
	q := url.Values{"prefix": {s.prefix}, "maxResults": {"1"}, "projection": {"noAcl"}, "fields": {"items(name)"}}
	resp, err := s.do(ctx, request{method: http.MethodGet, url: s.bucketURL("/o?" + q.Encode())})
	if err != nil {
		return s.explain(ctx, "check", "", err)
	}
	drain(resp)
	return nil
}

// Close releases the client's idle connections.
func (s *Store) Close() error {
	s.http.CloseIdleConnections()
	return nil
}
