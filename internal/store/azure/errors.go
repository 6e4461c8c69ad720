package azure

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/transport"
)

// explain turns an Azure or network error of op on key (which may be empty) into a message
// an operator can act on. It wraps err, so errors.Is and errors.As still see the cause. The
// SDK's errors carry the request URL, which for a SAS holds the signature: every message
// built here uses the store's name instead, and the cause is wrapped through redacted,
// which strips query strings.
func (s *Store) explain(ctx context.Context, op, key string, err error) error {
	what := op
	if key != "" {
		what += " " + key
	}
	cause := redact(err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("%s in %s: %w", what, s, cause)
		}
		return fmt.Errorf("%s in %s: %w (%w)", what, s, ctxErr, cause)
	}
	var resp *azcore.ResponseError
	if errors.As(err, &resp) {
		if bloberror.HasCode(err, bloberror.BlobNotFound) {
			return fmt.Errorf("%s in %s: %w (%w)", what, s, store.ErrNotFound, cause)
		}
		if msg := s.explainCode(bloberror.Code(resp.ErrorCode), resp.StatusCode); msg != "" {
			return fmt.Errorf("%s in %s: %s: %w", what, s, msg, cause)
		}
		return fmt.Errorf("%s in %s: Azure answered %d %s: %w", what, s, resp.StatusCode, resp.ErrorCode, cause)
	}
	if msg := s.explainCredential(err); msg != "" {
		return fmt.Errorf("%s in %s: %s: %w", what, s, msg, cause)
	}
	if msg := s.explainTransport(err); msg != "" {
		return fmt.Errorf("%s in %s: %s: %w", what, s, msg, cause)
	}
	return fmt.Errorf("%s in %s: %w", what, s, cause)
}

func (s *Store) explainCode(code bloberror.Code, status int) string {
	switch code {
	case bloberror.ContainerNotFound:
		return fmt.Sprintf("container %q does not exist in storage account %q (%s): create it or fix destinations[].azure.container",
			s.container, s.account, s.endpoint)
	case bloberror.ResourceNotFound:
		return fmt.Sprintf("storage account %q or container %q does not exist at %s: check destinations[].azure.account, "+
			".container and .endpoint", s.account, s.container, s.endpoint)
	case bloberror.AuthenticationFailed, bloberror.InvalidAuthenticationInfo, bloberror.NoAuthenticationInformation:
		return fmt.Sprintf("Azure Storage at %s refused %s (%s): check the account key or SAS token for this destination "+
			"(a SAS must be for account %q and not expired), or the identity's token", s.endpoint, s.creds, code, s.account)
	case bloberror.AuthorizationFailure:
		// Azure's answer to a request its firewall or policy refuses, Azurite's to a wrong key.
		return fmt.Sprintf("Azure Storage at %s refused %s (%s): check the account key or SAS token for this destination, "+
			"the identity's role on container %q, and the storage account's firewall", s.endpoint, s.creds, code, s.container)
	case bloberror.AuthorizationPermissionMismatch, bloberror.InsufficientAccountPermissions,
		bloberror.AuthorizationResourceTypeMismatch, bloberror.AuthorizationServiceMismatch:
		return fmt.Sprintf("access denied using %s (%s): grant the identity Storage Blob Data Contributor on container %q, "+
			"or issue a SAS with permissions r,a,c,w,d,l for it", s.creds, code, s.container)
	case bloberror.AuthorizationSourceIPMismatch, bloberror.AuthorizationProtocolMismatch:
		return fmt.Sprintf("access denied using %s (%s): the SAS token or the account's firewall does not allow this "+
			"address or protocol; allow it in the storage account's networking settings or issue a new SAS", s.creds, code)
	case bloberror.AccountIsDisabled, bloberror.ContainerDisabled:
		return fmt.Sprintf("storage account %q is disabled (%s): re-enable it in Azure", s.account, code)
	case bloberror.BlobImmutableDueToPolicy:
		return "the blob is under an immutability policy or legal hold: it cannot be replaced or deleted before that ends"
	case bloberror.BlockCountExceedsLimit, bloberror.InvalidBlobOrBlock:
		return fmt.Sprintf("the backup is larger than %d blocks of %d bytes: raise the destination's blockSizeMiB", maxBlocks, s.blockSize)
	case "AccountLimitExceeded", "InsufficientStorage":
		return "the storage account is full: free space or raise its quota, or keep fewer backups in this destination's " +
			"retention, then run the backup again"
	}
	if status == 403 {
		return fmt.Sprintf("access denied using %s: check the credentials for this destination and their permissions on container %q",
			s.creds, s.container)
	}
	return ""
}

// explainCredential recognises failures of the default credential chain, which happen
// before any request reaches the storage account.
func (s *Store) explainCredential(err error) string {
	var authFailed *azidentity.AuthenticationFailedError
	switch {
	case errors.As(err, &authFailed):
		return "Microsoft Entra ID refused a token to the default Azure credential: check the workload identity's " +
			"federated credential (issuer and subject of the service account) or the managed identity's client id"
	// The chain's "unavailable" error has no exported type; its text is the only sign.
	case strings.Contains(err.Error(), "DefaultAzureCredential"), strings.Contains(err.Error(), "WorkloadIdentityCredential"),
		strings.Contains(err.Error(), "ManagedIdentityCredential"):
		return "no Azure credential is available: on AKS enable Workload Identity for lifeboat's service account " +
			"(pod label azure.workload.identity/use=true, service account annotation azure.workload.identity/client-id), " +
			"or set the destination's accountKey or sasToken"
	}
	return ""
}

func (s *Store) explainTransport(err error) string {
	switch transport.Classify(err) {
	case transport.Untrusted:
		return fmt.Sprintf("the TLS certificate of Azure blob endpoint %s is not trusted: add its CA to the system's trust store", s.endpoint)
	case transport.WrongHost:
		return fmt.Sprintf("the TLS certificate of Azure blob endpoint %s is for another host name: use the name the certificate was issued for", s.endpoint)
	case transport.PlainHTTP:
		return fmt.Sprintf("Azure blob endpoint %s speaks plain HTTP, not TLS: use an http:// endpoint (emulators only) or enable TLS", s.endpoint)
	case transport.Unreachable:
		return fmt.Sprintf("cannot reach Azure blob endpoint %s: check the destination's account and endpoint, the network "+
			"path (DNS, proxy, private endpoint, network policy) and that the service is up", s.endpoint)
	}
	return ""
}

// redacted shortens an SDK error for messages and hides SAS signatures: the SDK's
// response errors are multi-line dumps of the whole exchange, and net/http's errors quote
// the request URL, query and all. Unwrap gives the original to errors.Is and errors.As.
type redacted struct{ err error }

func redact(err error) error { return redacted{err} }

var (
	sigRE     = regexp.MustCompile(`(?i)(sig=)[^&\s"']+`)
	messageRE = regexp.MustCompile(`<Message>([^<\r\n]*)`)
)

func (r redacted) Error() string {
	var resp *azcore.ResponseError
	if errors.As(r.err, &resp) {
		msg := fmt.Sprintf("HTTP %d %s", resp.StatusCode, resp.ErrorCode)
		if resp.RawResponse != nil {
			if body, err := runtime.Payload(resp.RawResponse); err == nil {
				if m := messageRE.FindSubmatch(body); m != nil {
					msg += ": " + strings.TrimSpace(string(m[1]))
				}
			}
		}
		return sigRE.ReplaceAllString(msg, "${1}REDACTED")
	}
	return sigRE.ReplaceAllString(r.err.Error(), "${1}REDACTED")
}

func (r redacted) Unwrap() error { return r.err }
