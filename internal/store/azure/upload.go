package azure

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// upload stages r's blocks and commits them, or commits nothing. It stands in for the
// SDK's UploadStream, which keeps reading the source to its end after a block failed to
// stage: with a dead destination it would drain a whole backup before reporting, while
// the pipeline waits for it to give up.
//
// At most s.concurrency buffers of s.blockSize bytes exist at once. A stream shorter than
// one block is sent as one Put Blob.
func (s *Store) upload(ctx context.Context, bb *blockblob.Client, r io.Reader) error {
	headers := &blob.HTTPHeaders{BlobContentType: to.Ptr("application/octet-stream")}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// Block ids are unique to this upload: a commit names exactly the blocks it staged,
	// never one left uncommitted by an earlier, failed upload of the same blob.
	var idPrefix [16]byte
	if _, err := rand.Read(idPrefix[:]); err != nil {
		return err
	}
	free := make(chan []byte, s.concurrency)
	allocated := 0
	var (
		ids []string
		wg  sync.WaitGroup
	)
	for n := uint32(0); ; n++ {
		var buf []byte
		select {
		case buf = <-free:
		default:
			if allocated < s.concurrency {
				buf = make([]byte, s.blockSize)
				allocated++
				break
			}
			select {
			case buf = <-free:
			case <-ctx.Done():
			}
		}
		if buf == nil || ctx.Err() != nil {
			wg.Wait()
			return context.Cause(ctx)
		}
		k, err := io.ReadFull(r, buf)
		last := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !last {
			cancel(err)
			wg.Wait()
			return err
		}
		if n == 0 && last {
			_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(buf[:k])), &blockblob.UploadOptions{HTTPHeaders: headers})
			return err
		}
		if k > 0 {
			if n >= maxBlocks {
				cancel(errTooManyBlocks)
				wg.Wait()
				return errTooManyBlocks
			}
			id := blockID(idPrefix, n)
			ids = append(ids, id)
			wg.Add(1)
			go func(block []byte) {
				defer wg.Done()
				if _, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(block)), nil); err != nil {
					cancel(err)
				}
				free <- buf
			}(buf[:k])
		}
		if last {
			break
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	_, err := bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{HTTPHeaders: headers})
	return err
}

// errTooManyBlocks stops an upload that would not fit in a block blob before it stages
// blocks the commit would refuse.
var errTooManyBlocks = errors.New("too many blocks")

// blockID is base64 of the upload's prefix and the block's number: Azure wants the ids of
// one blob to be of equal length.
func blockID(prefix [16]byte, n uint32) string {
	var id [20]byte
	copy(id[:], prefix[:])
	binary.BigEndian.PutUint32(id[16:], n)
	return base64.StdEncoding.EncodeToString(id[:])
}
