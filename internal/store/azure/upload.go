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

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// upload stages r's blocks and commits them, or commits nothing. It stands in for the
// SDK's UploadStream, which keeps reading the source to its end after a block failed to
// stage: with a dead destination it would drain a whole backup before reporting, while
// the pipeline waits for it to give up.
//
// From the pipeline's ring (store.SectionReader) blocks are staged straight from the
// ring; otherwise at most s.concurrency buffers of s.blockSize bytes exist at once. A
// stream shorter than one block is sent as one Put Blob.
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
	src := s.blocks(r)
	var (
		ids []string
		wg  sync.WaitGroup
	)
	for n := uint32(0); ; n++ {
		b, err := src.next(ctx)
		if err != nil {
			cancel(err)
			wg.Wait()
			return context.Cause(ctx)
		}
		if n == 0 && b.last {
			defer b.release()
			_, err := bb.Upload(ctx, streaming.NopCloser(b.data), &blockblob.UploadOptions{HTTPHeaders: headers})
			return err
		}
		if b.size > 0 {
			if n >= maxBlocks {
				b.release()
				cancel(errTooManyBlocks)
				wg.Wait()
				return errTooManyBlocks
			}
			id := blockID(idPrefix, n)
			ids = append(ids, id)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer b.release()
				if _, err := bb.StageBlock(ctx, id, streaming.NopCloser(b.data), nil); err != nil {
					cancel(err)
				}
			}()
		} else {
			b.release()
		}
		if b.last {
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

// block is the next block of a stream: last when the stream ended with it (it may then
// be empty). release gives its memory back once it is staged.
type block struct {
	data    io.ReadSeeker
	size    int64
	last    bool
	release func()
}

type blockSource interface {
	// next waits for a free slot (at most a few blocks are in flight) and returns the
	// next block.
	next(ctx context.Context) (block, error)
}

func (s *Store) blocks(r io.Reader) blockSource {
	if sr, ok := r.(store.SectionReader); ok && sr.Capacity() >= 2*s.blockSize {
		return &sectionBlocks{src: sr, size: s.blockSize, slots: make(chan struct{}, min(int64(s.concurrency), max(1, sr.Capacity()/s.blockSize-1)))}
	}
	return &bufferBlocks{r: r, size: s.blockSize, free: make(chan []byte, s.concurrency), max: s.concurrency}
}

// sectionBlocks takes blocks in place from the pipeline's ring.
type sectionBlocks struct {
	src   store.SectionReader
	size  int64
	slots chan struct{}
	ended bool
}

func (b *sectionBlocks) next(ctx context.Context) (block, error) {
	if b.ended {
		return block{last: true, release: func() {}}, nil
	}
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return block{}, context.Cause(ctx)
	}
	sec, err := b.src.NextSection(ctx, b.size)
	if errors.Is(err, io.EOF) {
		<-b.slots
		return block{data: bytes.NewReader(nil), last: true, release: func() {}}, nil
	}
	if err != nil {
		<-b.slots
		return block{}, err
	}
	// A short section is the end of the stream; a full one may be followed by nothing,
	// which the next call finds out.
	b.ended = sec.Size() < b.size
	return block{data: sec, size: sec.Size(), last: b.ended, release: func() { sec.Release(); <-b.slots }}, nil
}

// bufferBlocks reads blocks into at most max buffers of its own.
type bufferBlocks struct {
	r         io.Reader
	size      int64
	free      chan []byte
	allocated int
	max       int
}

func (b *bufferBlocks) next(ctx context.Context) (block, error) {
	var buf []byte
	select {
	case buf = <-b.free:
	default:
		if b.allocated < b.max {
			buf = make([]byte, b.size)
			b.allocated++
			break
		}
		select {
		case buf = <-b.free:
		case <-ctx.Done():
			return block{}, context.Cause(ctx)
		}
	}
	k, err := io.ReadFull(b.r, buf)
	last := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
	if err != nil && !last {
		b.free <- buf
		return block{}, err
	}
	return block{data: bytes.NewReader(buf[:k]), size: int64(k), last: last, release: func() { b.free <- buf }}, nil
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

// BufferNeed is room for two blocks: one staging while the next fills, straight from the
// ring.
func (s *Store) BufferNeed() int64 { return 2 * s.blockSize }

var _ store.BufferNeeder = (*Store)(nil)
