package s3

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// S3 error codes of object lock that minio-go has no constants for.
const (
	codeNoLockConfig      = "ObjectLockConfigurationNotFoundError" // the bucket has no object lock
	codeNoRetention       = "NoSuchObjectLockConfiguration"        // the object has no retention
	codeNoSuchVersion     = "NoSuchVersion"
	codeMethodNotAllowed  = "MethodNotAllowed" // the current version is a delete marker
	objectLockEnabledText = "Enabled"
)

var _ store.Locker = (*Store)(nil)

// lockSettings is a destination's object lock, checked by New.
type lockSettings struct {
	mode      minio.RetentionMode
	retainFor time.Duration
	now       func() time.Time
}

// retainUntil is now plus retainFor, rounded up to the second S3 keeps, so an object is
// never locked for less than retainFor.
func (l *lockSettings) retainUntil() time.Time {
	t := l.now().Add(l.retainFor).UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// CheckLock makes sure the bucket has object lock enabled when the destination asks for
// locked objects. Object lock is a property of the bucket that S3 (and MinIO) can only
// turn on when the bucket is created, so the message says how to create one.
func (s *Store) CheckLock(ctx context.Context) error {
	if s.lock == nil {
		return nil
	}
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	code := minio.ToErrorResponse(err).Code
	switch {
	case err == nil && enabled == objectLockEnabledText:
	case err == nil, code == codeNoLockConfig:
		return fmt.Errorf("bucket %q at %s does not have object lock enabled, but this destination's s3.objectLock asks for "+
			"locked copies; object lock must be enabled when the bucket is created: create a new bucket with "+
			"`mc mb --with-lock ALIAS/BUCKET` (MinIO), `aws s3api create-bucket --bucket BUCKET --object-lock-enabled-for-bucket` "+
			"or \"Object Lock: Enable\" in the AWS console's Create bucket page, and point destinations[].s3.bucket at it "+
			"(or remove objectLock from this destination)", s.bucket, s.endpoint)
	default:
		return fmt.Errorf("%w (the destination's s3.objectLock needs s3:GetBucketObjectLockConfiguration on the bucket)",
			s.explain(ctx, "read the object lock configuration", "", err))
	}
	return nil
}

// RetainUntil returns the retain-until date of the object's current version. Objects
// written before objectLock was configured, and keys that are gone, are not locked.
func (s *Store) RetainUntil(ctx context.Context, key string) (time.Time, error) {
	name, err := s.object(key)
	if err != nil {
		return time.Time{}, err
	}
	if s.lock == nil {
		return time.Time{}, nil
	}
	return s.retainUntil(ctx, key, name, "")
}

func (s *Store) retainUntil(ctx context.Context, key, name, versionID string) (time.Time, error) {
	_, until, err := s.client.GetObjectRetention(ctx, s.bucket, name, versionID)
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, codeNoSuchVersion, codeNoRetention, codeMethodNotAllowed:
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, s.explain(ctx, "read the retention of", key, err)
	}
	if until == nil {
		return time.Time{}, nil
	}
	return until.UTC(), nil
}

// deleteVersions removes every version of the object. In a bucket with object lock (always
// versioned) a plain delete only adds a delete marker: the object disappears from listings
// while its data stays, locked or not, so retention would free nothing. A version still
// locked is refused by the server; the versions go oldest first and the current one last,
// so a refused delete leaves the object as listings showed it.
func (s *Store) deleteVersions(ctx context.Context, key, name string) error {
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var versions []minio.ObjectInfo
	for v := range s.client.ListObjects(listCtx, s.bucket, minio.ListObjectsOptions{Prefix: name, WithVersions: true}) {
		if v.Err != nil {
			return s.explain(ctx, "delete", key, v.Err)
		}
		if v.Key == name { // the prefix also matches longer names
			versions = append(versions, v)
		}
	}
	slices.SortStableFunc(versions, func(a, b minio.ObjectInfo) int {
		if a.IsLatest != b.IsLatest {
			return map[bool]int{true: 1, false: -1}[a.IsLatest]
		}
		return cmp.Compare(a.LastModified.UnixNano(), b.LastModified.UnixNano())
	})
	for _, v := range versions {
		err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{VersionID: v.VersionID})
		if err == nil {
			continue
		}
		if code := minio.ToErrorResponse(err).Code; code == minio.NoSuchKey || code == codeNoSuchVersion {
			continue // another prune got there first
		}
		if until, uerr := s.retainUntil(ctx, key, name, v.VersionID); uerr == nil && until.After(s.lock.now()) {
			return fmt.Errorf("delete %s in %s: %w until %s (object lock); it can be deleted after that: %w",
				key, s, ErrLocked, until.Format(time.RFC3339), err)
		}
		return s.explain(ctx, "delete", key, err)
	}
	return nil
}

// ErrLocked is wrapped when a delete is refused because the object's lock has not ended.
var ErrLocked = errors.New("the object is locked")
