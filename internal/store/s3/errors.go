package s3

import (
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/transport"
)

// explain turns an S3 or network error of op on key (which may be empty) into a message an
// operator can act on. It wraps err, so errors.Is and errors.As still see the cause; none
// of the messages carry the secret key (minio-go's errors never do either).
func (s *Store) explain(ctx context.Context, op, key string, err error) error {
	what := op
	if key != "" {
		what += " " + key
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("%s in %s: %w", what, s, err)
		}
		return fmt.Errorf("%s in %s: %w (%w)", what, s, ctxErr, err)
	}

	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		if msg := s.explainCode(resp); msg != "" {
			if resp.Code == minio.NoSuchKey {
				return fmt.Errorf("%s in %s: %w: %w", what, s, store.ErrNotFound, err)
			}
			return fmt.Errorf("%s in %s: %s: %w", what, s, msg, err)
		}
		return fmt.Errorf("%s in %s: %w", what, s, err)
	}
	if msg := s.explainTransport(err); msg != "" {
		return fmt.Errorf("%s in %s: %s: %w", what, s, msg, err)
	}
	return fmt.Errorf("%s in %s: %w", what, s, err)
}

func (s *Store) explainCode(resp minio.ErrorResponse) string {
	switch resp.Code {
	case minio.NoSuchKey:
		return "not found"
	case minio.NoSuchBucket:
		return fmt.Sprintf("bucket %q does not exist at endpoint %s: create it or fix destinations[].s3.bucket", s.bucket, s.endpoint)
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired", "InvalidClientTokenId":
		return fmt.Sprintf("S3 endpoint %s rejected %s (%s): check the access key and secret for this destination", s.endpoint, s.creds, resp.Code)
	case minio.AccessDenied, "AllAccessDisabled":
		return fmt.Sprintf("access denied using %s: check the access key and secret for this destination, "+
			"and that their policy allows listing, reading, writing and deleting objects in bucket %q", s.creds, s.bucket)
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException", "InvalidRegion":
		region := ""
		if resp.Region != "" {
			region = " (" + resp.Region + ")"
		}
		return fmt.Sprintf("bucket %q is in another region%s: set the destination's region", s.bucket, region)
	case "XMinioStorageFull", "QuotaExceeded", "XMinioAdminBucketQuotaExceeded":
		return "the destination is full: free space or raise the quota on the S3 server, " +
			"or keep fewer backups in its retention, then run the backup again"
	case minio.EntityTooLarge:
		return fmt.Sprintf("the backup is larger than %d parts of %d bytes: raise the destination's part size", maxParts, s.partSize)
	}
	return ""
}

func (s *Store) explainTransport(err error) string {
	switch transport.Classify(err) {
	case transport.Untrusted:
		return fmt.Sprintf("the TLS certificate of S3 endpoint %s is not trusted: set the destination's CA certificate file "+
			"to the CA that signed it", s.endpoint)
	case transport.WrongHost:
		return fmt.Sprintf("the TLS certificate of S3 endpoint %s is for another host name: use the name the certificate was issued for", s.endpoint)
	case transport.PlainHTTP:
		return fmt.Sprintf("S3 endpoint %s speaks plain HTTP, not TLS: use an http:// endpoint (insecure) or enable TLS on the server", s.endpoint)
	case transport.Unreachable:
		return fmt.Sprintf("cannot reach S3 endpoint %s: check the destination's endpoint, the network path (DNS, proxy, "+
			"network policy) and that the server is up", s.endpoint)
	}
	return ""
}
