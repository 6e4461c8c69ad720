// Package s3 is a destination in an S3 bucket: AWS, MinIO, Cloudflare R2, Ceph and others,
// through github.com/minio/minio-go/v7.
//
// Put streams with an unknown size as a multipart upload, which S3 makes visible only when
// it completes, so an object is complete or absent. A failed or cancelled Put aborts its
// upload (minio-go does this, even after cancellation); an abort that cannot reach the
// server leaves parts behind, so buckets should carry an AbortIncompleteMultipartUpload
// lifecycle rule.
package s3

import (
	"context"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// Store keeps objects in one bucket under a prefix.
type Store struct {
	client   *minio.Client
	endpoint string // host[:port], for messages
	bucket   string
	prefix   string // "" or ending in '/'
	partSize int64
	creds    string        // where the credentials come from, for messages
	lock     *lockSettings // nil unless the destination writes locked objects
}

var _ store.Store = (*Store)(nil)

// New configures the destination without contacting it; Check does that.
func New(o Options) (*Store, error) {
	host, secure, err := o.endpoint()
	if err != nil {
		return nil, err
	}
	bucket, prefix, err := o.bucketAndPrefix()
	if err != nil {
		return nil, err
	}
	partSize, err := o.partSize()
	if err != nil {
		return nil, err
	}
	creds, credsName, err := o.credentials()
	if err != nil {
		return nil, err
	}
	transport, err := o.transport(secure)
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Transport:    transport,
		Region:       o.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %s: %w: fix the destination's endpoint", host, err)
	}
	lock, err := o.objectLock()
	if err != nil {
		return nil, err
	}
	return &Store{client: client, endpoint: host, bucket: bucket, prefix: prefix, partSize: partSize, creds: credsName, lock: lock}, nil
}

// String names the destination for operators: "s3://bucket/prefix (endpoint)".
func (s *Store) String() string {
	return fmt.Sprintf("s3://%s (%s)", strings.TrimSuffix(s.bucket+"/"+s.prefix, "/"), s.endpoint)
}

// object maps a key to its object name in the bucket.
func (s *Store) object(key string) (string, error) {
	if err := keys.Check(key); err != nil {
		return "", fmt.Errorf("%s: %w", s, err)
	}
	return s.prefix + key, nil
}

// Check makes sure the bucket exists and that the credentials may list it, so a run fails
// up front with a clear message instead of after streaming a backup. It does not write.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.explain(ctx, "check", "", err)
	}
	if !ok {
		return s.explain(ctx, "check", "", minio.ErrorResponse{Code: minio.NoSuchBucket, BucketName: s.bucket, Message: "The specified bucket does not exist"})
	}
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine
	objects := s.client.ListObjects(listCtx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, MaxKeys: 1})
	if obj, ok := <-objects; ok && obj.Err != nil {
		return s.explain(ctx, "check", "", obj.Err)
	}
	return nil
}
