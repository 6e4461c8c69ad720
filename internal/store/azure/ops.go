package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/ctxio"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// Put streams r as a block blob of unknown size (see upload). A source error or a
// cancellation returns before the block list is committed, so nothing becomes visible.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	name, err := s.blob(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s in %s: %w", key, s, err)
	}
	src := ctxio.NewReader(ctx, r)
	if err := s.upload(ctx, s.client.NewBlockBlobClient(name), src); err != nil {
		if srcErr := src.Err(); srcErr != nil && errors.Is(err, srcErr) && ctx.Err() == nil {
			return fmt.Errorf("put %s in %s: reading the stream: %w", key, s, err)
		}
		if errors.Is(err, errTooManyBlocks) {
			return fmt.Errorf("put %s in %s: the backup is larger than %d blocks of %d bytes: raise the destination's blockSizeMiB",
				key, s, maxBlocks, s.blockSize)
		}
		return s.explain(ctx, "put", key, err)
	}
	return nil
}

// Get opens the blob. DownloadStream sends the request at once, so a missing blob is
// reported here and not on the first Read. The body resumes a broken connection from where
// it stopped, pinned to the blob's ETag so that it never splices two versions together.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := s.blob(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s from %s: %w", key, s, err)
	}
	resp, err := s.client.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		return nil, s.explain(ctx, "get", key, err)
	}
	return resp.NewRetryReader(ctx, nil), nil
}

// Stat returns the blob's size and modification time. A HEAD response has no body, but
// Azure sends the error code in a header, so a missing container is told apart here too.
func (s *Store) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	name, err := s.blob(key)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.ObjectInfo{}, fmt.Errorf("stat %s in %s: %w", key, s, err)
	}
	props, err := s.client.NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return store.ObjectInfo{}, s.explain(ctx, "stat", key, err)
	}
	info := store.ObjectInfo{Key: key}
	if props.ContentLength != nil {
		info.Size = *props.ContentLength
	}
	if props.LastModified != nil {
		info.Modified = *props.LastModified
	}
	return info, nil
}

// List returns the committed blobs under the destination's prefix whose keys start with
// prefix. Blobs whose names are not valid keys, and the directory entries of accounts with
// a hierarchical namespace (Data Lake Storage), are skipped: lifeboat never wrote them.
func (s *Store) List(ctx context.Context, prefix string) ([]store.ObjectInfo, error) {
	if err := keys.CheckPrefix(prefix); err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, s, err)
	}
	out := []store.ObjectInfo{}
	pager := s.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  to.Ptr(s.prefix + prefix),
		Include: container.ListBlobsInclude{Metadata: true},
	})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, s.explain(ctx, "list", prefix, err)
		}
		for _, item := range page.Segment.BlobItems {
			if item.Name == nil || item.Properties == nil || isDirectory(item.Metadata) {
				continue
			}
			key, ok := keys.Relative(*item.Name, s.prefix)
			if !ok {
				continue
			}
			info := store.ObjectInfo{Key: key}
			if item.Properties.ContentLength != nil {
				info.Size = *item.Properties.ContentLength
			}
			if item.Properties.LastModified != nil {
				info.Modified = *item.Properties.LastModified
			}
			out = append(out, info)
		}
	}
	// Azure lists in lexical order already; sorting here makes the contract independent of
	// how a server compares non-ASCII names.
	store.SortByKey(out)
	return out, nil
}

// isDirectory recognises the entries a hierarchical namespace lists for directories: empty
// blobs carrying the metadata hdi_isfolder=true.
func isDirectory(metadata map[string]*string) bool {
	for k, v := range metadata {
		if strings.EqualFold(k, "hdi_isfolder") && v != nil && strings.EqualFold(*v, "true") {
			return true
		}
	}
	return false
}

// Delete removes the blob and any snapshots of it (Azure refuses to delete a blob that
// has snapshots otherwise). A missing blob is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.blob(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s from %s: %w", key, s, err)
	}
	_, err = s.client.NewBlobClient(name).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return s.explain(ctx, "delete", key, err)
	}
	return nil
}
