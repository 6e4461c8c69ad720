// Package azure is a destination in an Azure Blob Storage container, through
// github.com/Azure/azure-sdk-for-go/sdk/storage/azblob.
//
// Put streams with an unknown size as a block blob: blocks are staged (Put Block) and the
// blob appears only when the block list is committed (Put Block List) after the last block,
// so an object is complete or absent. A failed or cancelled Put never commits; the blocks
// it staged stay uncommitted, invisible to reads and listings, and Azure discards them
// after a week (or at the next commit to the same name). A stream that fits in one block
// is sent as one Put Blob, which is atomic by itself.
package azure

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// Store keeps blobs in one container under a prefix.
type Store struct {
	client      *container.Client
	endpoint    string // the blob service URL without its scheme, for messages
	account     string
	container   string
	prefix      string // "" or ending in '/'
	blockSize   int64
	concurrency int
	creds       string // where the credentials come from, for messages
}

var _ store.Store = (*Store)(nil)

// New configures the destination without contacting it; Check does that.
func New(o Options) (*Store, error) {
	account, containerName, prefix, err := o.names()
	if err != nil {
		return nil, err
	}
	service, err := o.serviceURL()
	if err != nil {
		return nil, err
	}
	blockSize, err := o.blockSize()
	if err != nil {
		return nil, err
	}
	concurrency := o.Concurrency
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	client, creds, err := o.client(service, containerName)
	if err != nil {
		return nil, err
	}
	return &Store{
		client:      client,
		endpoint:    Describe(service.String()),
		account:     account,
		container:   containerName,
		prefix:      prefix,
		blockSize:   blockSize,
		concurrency: concurrency,
		creds:       creds,
	}, nil
}

// Describe shortens a blob service URL for messages: no scheme, no trailing '/'.
func Describe(serviceURL string) string {
	_, rest, found := strings.Cut(serviceURL, "://")
	if !found {
		rest = serviceURL
	}
	return strings.TrimSuffix(rest, "/")
}

// String names the destination for operators: "azure://account/container/prefix (endpoint)".
func (s *Store) String() string {
	return fmt.Sprintf("azure://%s/%s (%s)", s.account, strings.TrimSuffix(s.container+"/"+s.prefix, "/"), s.endpoint)
}

// blob maps a key to its blob name in the container.
func (s *Store) blob(key string) (string, error) {
	if err := keys.Check(key); err != nil {
		return "", fmt.Errorf("%s: %w", s, err)
	}
	return s.prefix + key, nil
}

// Check makes sure the container exists and that the credentials may list it, so a run
// fails up front with a clear message instead of after streaming a backup. It does not
// write, and it lists instead of reading the container's properties, which a container SAS
// or a role with only data actions may not allow.
func (s *Store) Check(ctx context.Context) error {
	one := int32(1)
	pager := s.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &s.prefix, MaxResults: &one})
	if _, err := pager.NextPage(ctx); err != nil {
		return s.explain(ctx, "check", "", err)
	}
	return nil
}
