package gcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/auth"
	"google.golang.org/api/googleapi"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/transport"
)

// errBucketNotExist marks a 404 that the bucket's lookup showed was about the bucket.
var errBucketNotExist = errors.New("storage: bucket doesn't exist")

// objectErr explains an error of an operation on one object (get, stat, delete). A 404
// there means the object is missing, or that the whole bucket is: GCS (and its emulator)
// answer both with a bare 404 on object requests, and a missing bucket must not pass for a
// missing object, or a prune or a restore would take a misconfigured destination for an
// empty one. Only on that path is the bucket looked up.
func (s *Store) objectErr(ctx context.Context, op, key string, err error) error {
	if ctx.Err() != nil || !isNotFound(err) {
		return s.explain(ctx, op, key, err)
	}
	if s.bucketGone(ctx, err) {
		return s.explain(ctx, op, key, fmt.Errorf("%w: %w", errBucketNotExist, err))
	}
	return fmt.Errorf("%s %s in %s: %w: %w", op, key, s, store.ErrNotFound, err)
}

func isNotFound(err error) bool {
	var apiErr *googleapi.Error
	return errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound
}

// bucketGone reports whether a 404 was about the bucket. GCS says so in the message; the
// emulator does not, so the bucket is asked for. That needs storage.buckets.get, which
// lifeboat's least-privilege role may lack: without it the 404 counts as the object's.
func (s *Store) bucketGone(ctx context.Context, err error) bool {
	var apiErr *googleapi.Error
	if errors.As(err, &apiErr) && strings.Contains(strings.ToLower(apiErr.Message), "bucket does not exist") {
		return true
	}
	resp, attrErr := s.do(ctx, request{method: http.MethodGet, url: s.bucketURL("?fields=name")})
	if attrErr != nil {
		return isNotFound(attrErr)
	}
	drain(resp)
	return false
}

// explain turns a GCS or network error of op on key (which may be empty) into a message an
// operator can act on. It wraps err, so errors.Is and errors.As still see the cause. No
// message carries a credential: the key file is only ever named by its path.
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
	if msg := s.explainAPI(err); msg != "" {
		return fmt.Errorf("%s in %s: %s: %w", what, s, msg, err)
	}
	if msg := s.explainTransport(err); msg != "" {
		return fmt.Errorf("%s in %s: %s: %w", what, s, msg, err)
	}
	return fmt.Errorf("%s in %s: %w", what, s, err)
}

func (s *Store) explainAPI(err error) string {
	missing := fmt.Sprintf("bucket %q does not exist at %s: create it or fix destinations[].gcs.bucket", s.name, s.host)
	if errors.Is(err, errBucketNotExist) {
		return missing
	}
	var authErr *auth.Error
	// A token endpoint that cannot be reached (the metadata server, for Workload Identity)
	// gives no *auth.Error; its text is all there is, and it is not the storage endpoint.
	if errors.As(err, &authErr) || strings.Contains(err.Error(), "auth: cannot fetch token") {
		return fmt.Sprintf("could not get an access token using %s: check that the service account key is current "+
			"(not deleted or disabled), or that the Kubernetes service account is bound to a Google service account "+
			"(Workload Identity)", s.credsDesc)
	}
	var apiErr *googleapi.Error
	if !errors.As(err, &apiErr) {
		return ""
	}
	msg := strings.ToLower(apiErr.Message)
	switch code := apiErr.Code; {
	case code == http.StatusNotFound:
		// Object 404s are sorted out by objectErr; on a list or an upload it is the bucket.
		return missing
	case code == http.StatusUnauthorized:
		return fmt.Sprintf("GCS endpoint %s rejected %s: check the service account key in destinations[].gcs.credentialsFile, "+
			"or the Workload Identity binding of the pod's service account", s.host, s.credsDesc)
	case code == http.StatusForbidden && (strings.Contains(msg, "retention") || strings.Contains(msg, "hold")):
		return fmt.Sprintf("the object is protected by bucket %q's retention policy or an object hold: it can only be "+
			"deleted or replaced once that ends", s.name)
	case code == http.StatusForbidden:
		return fmt.Sprintf("access denied using %s: grant its Google service account a role with storage.objects.create, "+
			"storage.objects.get, storage.objects.list and storage.objects.delete on bucket %q (e.g. roles/storage.objectUser; "+
			"docs/destinations.md)", s.credsDesc, s.name)
	case code == http.StatusBadRequest && strings.Contains(msg, "bucket"):
		return fmt.Sprintf("GCS refused bucket name %q: fix destinations[].gcs.bucket", s.name)
	case code == http.StatusTooManyRequests:
		return "GCS is throttling requests (429): run fewer backups at once, or retry later"
	case code >= 500:
		return fmt.Sprintf("GCS endpoint %s failed (%d) after %d attempts: retry later, and check the service's status", s.host, code, maxAttempts)
	}
	return ""
}

func (s *Store) explainTransport(err error) string {
	switch transport.Classify(err) {
	case transport.Untrusted:
		return fmt.Sprintf("the TLS certificate of GCS endpoint %s is not trusted: add the CA that signed it to the "+
			"system's trusted certificates (or SSL_CERT_FILE)", s.host)
	case transport.WrongHost:
		return fmt.Sprintf("the TLS certificate of GCS endpoint %s is for another host name: use the name the certificate was issued for", s.host)
	case transport.PlainHTTP:
		return fmt.Sprintf("GCS endpoint %s speaks plain HTTP, not TLS: use an http:// endpoint (an emulator) or enable TLS", s.host)
	case transport.Unreachable:
		return fmt.Sprintf("cannot reach GCS endpoint %s: check destinations[].gcs.endpoint, the network path (DNS, proxy, "+
			"network policy, Private Google Access) and that the service is up", s.host)
	}
	return ""
}

func isGone(err error) bool {
	var apiErr *googleapi.Error
	return errors.As(err, &apiErr) && apiErr.Code == http.StatusGone
}
