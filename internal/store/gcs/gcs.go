// Package gcs is a destination in a Google Cloud Storage bucket, through
// cloud.google.com/go/storage over the JSON API.
//
// Put streams as a resumable upload of unknown size, one chunk in memory at a time. GCS
// creates the object only when the upload is finalized, so an object is complete or
// absent: a failed or cancelled Put cancels the upload's context, the upload is never
// finalized, and GCS discards the session (after a week) without it ever being visible.
package gcs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// maxAttempts bounds the client's retries of a request. The client would otherwise retry
// a refused connection until the run's context ends, and a destination that is down must
// fail within seconds so the run reports it (the other destinations carry on).
const maxAttempts = 4

// Store keeps objects in one bucket under a prefix.
type Store struct {
	client    *storage.Client
	bucket    *storage.BucketHandle
	name      string // bucket name
	prefix    string // "" or ending in '/'
	host      string // endpoint host, for messages
	where     string // what String returns
	chunkSize int
	creds     string // where the credentials come from, for messages
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
	opts := []option.ClientOption{
		// Reads through the JSON API like every other call, so a private endpoint needs
		// only that API, and a 404 carries the JSON error body.
		storage.WithJSONReads(),
		// The client would otherwise export its own metrics to Cloud Monitoring, which
		// needs a permission of its own and sends data nobody asked for.
		storage.WithDisabledClientMetrics(),
	}
	var creds string
	switch {
	case ep.plain:
		if o.CredentialsFile != "" {
			return nil, fmt.Errorf("GCS endpoint %s is plain HTTP (an emulator), where no credentials are sent: "+
				"use an https:// endpoint, or drop destinations[].gcs.credentialsFile", ep.host)
		}
		opts = append(opts, option.WithoutAuthentication())
		creds = "no credentials (plain HTTP emulator)"
	case o.CredentialsFile != "":
		key, err := o.serviceAccountKey()
		if err != nil {
			return nil, err
		}
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, key))
		creds = "the service account key in " + o.CredentialsFile
	default:
		creds = "Application Default Credentials (Workload Identity, the metadata server or GOOGLE_APPLICATION_CREDENTIALS)"
	}
	if ep.api != "" {
		opts = append(opts, option.WithEndpoint(ep.api))
	}
	// The client keeps this context for fetching tokens later: it must outlive any run.
	client, err := storage.NewClient(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("GCS client for gs://%s using %s: %w: set destinations[].gcs.credentialsFile to a service "+
			"account key, or give the pod a Google identity (GKE Workload Identity)", bucket, creds, err)
	}
	// Every call lifeboat makes may be repeated safely: a Put replaces the whole object
	// with the same bytes, and a Delete that finds nothing is not an error. So retry them
	// all (the default retries only calls with preconditions), but only a few times.
	client.SetRetry(
		storage.WithPolicy(storage.RetryAlways),
		storage.WithMaxAttempts(maxAttempts),
		storage.WithBackoff(gax.Backoff{Initial: 250 * time.Millisecond, Max: 4 * time.Second, Multiplier: 2}),
	)
	return &Store{
		client:    client,
		bucket:    client.Bucket(bucket),
		name:      bucket,
		prefix:    prefix,
		host:      ep.host,
		where:     describe(bucket, prefix, ep),
		chunkSize: chunkSize,
		creds:     creds,
	}, nil
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
func (s *Store) object(key string) (*storage.ObjectHandle, error) {
	if err := keys.Check(key); err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	return s.bucket.Object(s.prefix + key), nil
}

// Check makes sure the bucket exists and that the credentials may list it, so a run fails
// up front with a clear message instead of after streaming a backup. It lists rather than
// reading the bucket's metadata, which would need storage.buckets.get on top of the object
// permissions lifeboat needs. It does not write.
func (s *Store) Check(ctx context.Context) error {
	it := s.bucket.Objects(ctx, &storage.Query{Prefix: s.prefix, Projection: storage.ProjectionNoACL})
	it.PageInfo().MaxSize = 1
	if _, err := it.Next(); err != nil && !isDone(err) {
		return s.explain(ctx, "check", "", err)
	}
	return nil
}

// Close releases the client's connections.
func (s *Store) Close() error { return s.client.Close() }
