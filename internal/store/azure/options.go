package azure

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// Block sizes. A Put from the pipeline's ring stages blocks in place (the ring makes room
// for two); from another reader it holds Concurrency blocks in memory. A block blob has
// at most 50,000 blocks, so the block size also caps the blob size: 8 MiB allows 390 GiB.
const (
	DefaultBlockSize   = 8 << 20
	MinBlockSize       = 1 << 20    // the SDK's minimum; it raises anything smaller
	MaxBlockSize       = 4000 << 20 // Azure's limit per block (service version 2019-12-12+)
	DefaultConcurrency = 2
	maxBlocks          = 50000
)

// Options describe one Azure Blob Storage destination. Secrets arrive already resolved by
// the caller.
type Options struct {
	// Account is the storage account name.
	Account   string
	Container string
	// Prefix is prepended to every key with a '/' between them; leading and trailing
	// slashes are ignored.
	Prefix string
	// Endpoint is the blob service URL. Empty means Azure's public cloud,
	// https://<account>.blob.core.windows.net. Set it for sovereign clouds
	// (https://<account>.blob.core.chinacloudapi.cn), private endpoints, or Azurite
	// (http://host:10000/<account>).
	Endpoint string
	// AccountKey and SASToken are the static credentials; set at most one. With neither,
	// the default Azure credential chain is used: environment (service principal),
	// Workload Identity, managed identity, Azure CLI.
	AccountKey string
	SASToken   string
	// BlockSize is the block size in bytes (default DefaultBlockSize, at most
	// MaxBlockSize). Memory per Put is Concurrency blocks.
	BlockSize int64
	// Concurrency is how many blocks of one Put are uploaded at once (default
	// DefaultConcurrency).
	Concurrency int

	// retryDelay shortens the SDK's retry back-off in tests of servers that are down.
	retryDelay time.Duration
}

// Azure's naming rules: https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
var (
	accountRE   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
)

// ValidAccount and ValidContainer say what is wrong with a name, or "" when it is valid.
func ValidAccount(name string) string {
	if !accountRE.MatchString(name) {
		return "storage account names are 3 to 24 lower-case letters and digits"
	}
	return ""
}

// ValidContainer is ValidAccount for container names.
func ValidContainer(name string) string {
	if len(name) < 3 || len(name) > 63 || !containerRE.MatchString(name) {
		return "container names are 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit"
	}
	return ""
}

// DefaultEndpoint is the public cloud's blob service URL for account.
func DefaultEndpoint(account string) string {
	return "https://" + account + ".blob.core.windows.net"
}

// serviceURL checks Endpoint and returns it without a trailing '/'. Messages never repeat
// the URL as given: its user-info or query might hold a credential.
func (o Options) serviceURL() (*url.URL, error) {
	ep := strings.TrimSpace(o.Endpoint)
	if ep == "" {
		ep = DefaultEndpoint(o.Account)
	}
	u, err := url.Parse(ep)
	switch {
	case err != nil:
		return nil, errors.New("azure blob endpoint is not a valid URL: fix destinations[].azure.endpoint")
	case u.User != nil:
		return nil, errors.New("azure blob endpoint must not contain credentials: use the destination's accountKey or sasToken")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("azure blob endpoint must not have a query: put a SAS token in the destination's sasToken")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, errors.New("azure blob endpoint must be an http(s):// URL with a host, like https://<account>.blob.core.windows.net: fix destinations[].azure.endpoint")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func (o Options) names() (account, container, prefix string, err error) {
	if o.Account == "" {
		return "", "", "", errors.New("azure destination has no storage account: set destinations[].azure.account")
	}
	if msg := ValidAccount(o.Account); msg != "" {
		return "", "", "", fmt.Errorf("azure storage account name %q is invalid (%s): fix destinations[].azure.account", o.Account, msg)
	}
	if o.Container == "" {
		return "", "", "", errors.New("azure destination has no container: set destinations[].azure.container")
	}
	if msg := ValidContainer(o.Container); msg != "" {
		return "", "", "", fmt.Errorf("azure container name %q is invalid (%s): fix destinations[].azure.container", o.Container, msg)
	}
	prefix = strings.Trim(o.Prefix, "/")
	if prefix != "" {
		if err := keys.Check(prefix); err != nil {
			return "", "", "", fmt.Errorf("azure prefix %q is invalid: %w", o.Prefix, err)
		}
		prefix += "/"
	}
	return o.Account, o.Container, prefix, nil
}

func (o Options) blockSize() (int64, error) {
	switch {
	case o.BlockSize == 0:
		return DefaultBlockSize, nil
	case o.BlockSize < MinBlockSize:
		return 0, fmt.Errorf("azure block size %d is below the minimum of 1 MiB: raise blockSizeMiB", o.BlockSize)
	case o.BlockSize > MaxBlockSize:
		return 0, fmt.Errorf("azure block size %d is above Azure's maximum of 4000 MiB, and each Put holds its blocks in memory: lower it", o.BlockSize)
	}
	return o.BlockSize, nil
}

// client builds the container client for the credentials given, and names them for
// messages. Neither the key nor the token ever appears in an error.
func (o Options) client(service *url.URL, containerName string) (*container.Client, string, error) {
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{RetryDelay: o.retryDelay, MaxRetryDelay: 4 * o.retryDelay},
	}}
	containerURL := service.JoinPath(containerName)
	switch {
	case o.AccountKey != "" && o.SASToken != "":
		return nil, "", errors.New("azure destination sets both an account key and a SAS token: keep one of them, " +
			"or neither to use Workload Identity or a managed identity")
	case o.AccountKey != "":
		cred, err := container.NewSharedKeyCredential(o.Account, o.AccountKey)
		if err != nil {
			// The SDK's error would quote base64 decoding details; the key itself must not
			// leak, so the message is ours alone.
			return nil, "", errors.New("the Azure account key is not valid base64: copy key1 or key2 from the storage account's Access keys")
		}
		c, err := container.NewClientWithSharedKeyCredential(containerURL.String(), cred, opts)
		return c, "the configured account key", err
	case o.SASToken != "":
		token := strings.TrimPrefix(strings.TrimSpace(o.SASToken), "?")
		q, err := url.ParseQuery(token)
		if err != nil || q.Get("sig") == "" {
			return nil, "", errors.New("the Azure SAS token is not a SAS query string (sv=...&sig=...): copy the token, " +
				"without the URL before the '?', from the portal or `az storage container generate-sas`")
		}
		withSAS := *containerURL
		withSAS.RawQuery = token
		c, err := container.NewClientWithNoCredential(withSAS.String(), opts)
		return c, "the configured SAS token", err
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, "", fmt.Errorf("azure default credential chain: %w: set accountKey or sasToken, or fix the AZURE_* environment", err)
	}
	c, err := container.NewClient(containerURL.String(), cred, opts)
	return c, "the default Azure credential (Workload Identity, managed identity or AZURE_* environment)", err
}
