package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// newTestStore opens a store on a with the development account's key and the smallest
// block size, so that the staged-block paths run with little data.
func newTestStore(t *testing.T, a *testenv.Azurite, o Options) *Store {
	t.Helper()
	o.Endpoint = cmpOr(o.Endpoint, a.ServiceURL())
	o.Account = cmpOr(o.Account, a.Account)
	if o.SASToken == "" {
		o.AccountKey = cmpOr(o.AccountKey, a.Key)
	}
	if o.BlockSize == 0 {
		o.BlockSize = MinBlockSize
	}
	o.retryDelay = 10 * time.Millisecond
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestConformance(t *testing.T) {
	a := testenv.StartAzurite(t)
	a.MakeContainer("lifeboat")
	var n atomic.Int64
	t.Run("Prefix", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t, a, Options{Container: "lifeboat", Prefix: fmt.Sprintf("/team/conformance-%d/", n.Add(1))})
		})
	})
	t.Run("ContainerRoot", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			name := fmt.Sprintf("root-%d", n.Add(1))
			a.MakeContainer(name)
			return newTestStore(t, a, Options{Container: name})
		})
	})
	t.Run("SAS", func(t *testing.T) {
		a.MakeContainer("sas")
		token := containerSAS(t, a, "sas", sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true})
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t, a, Options{Container: "sas", Prefix: fmt.Sprintf("sas-%d", n.Add(1)), SASToken: token})
		})
	})
}

// containerSAS issues a service SAS for one container, as `az storage container
// generate-sas` would, and returns its query string.
func containerSAS(t *testing.T, a *testenv.Azurite, name string, perms sas.ContainerPermissions) string {
	t.Helper()
	cred, err := container.NewSharedKeyCredential(a.Account, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour),
		Permissions:   perms.String(),
		ContainerName: name,
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return q.Encode()
}

// A Put that fails after staging blocks leaves those blocks uncommitted: the blob does not
// exist for Get, Stat or List, while the server still holds the staged blocks (so the test
// saw the case it is about), and an older blob under the same name is untouched.
func TestFailedPutCommitsNothing(t *testing.T) {
	a := testenv.StartAzurite(t)
	a.MakeContainer("abort")
	s := newTestStore(t, a, Options{Container: "abort", Prefix: "p"})
	boom := errors.New("source broke")
	ctx := storetest.Context(t)
	if err := s.Put(ctx, "vault/old/data.snap", strings.NewReader("old backup")); err != nil {
		t.Fatal(err)
	}

	cancelled, cancel := context.WithCancel(storetest.Context(t))
	defer cancel()
	tests := []struct {
		name string
		key  string
		ctx  context.Context
		r    io.Reader
		want error
	}{
		// 3.5 blocks: three are staged before the failure.
		{"reader fails", "vault/new/data.snap", ctx, io.MultiReader(io.LimitReader(storetest.Zeros{}, 3*MinBlockSize+MinBlockSize/2), storetest.ErrReader{Err: boom}), boom},
		{"context cancelled", "vault/cancelled/data.snap", cancelled, &storetest.HookAfter{R: storetest.Zeros{}, N: 3*MinBlockSize + 1, Hook: cancel}, context.Canceled},
		{"overwrite fails", "vault/old/data.snap", ctx, io.MultiReader(io.LimitReader(storetest.Zeros{}, 3*MinBlockSize+MinBlockSize/2), storetest.ErrReader{Err: boom}), boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Put(tc.ctx, tc.key, tc.r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put = %v, want %v", err, tc.want)
			}
			if tc.key != "vault/old/data.snap" {
				if _, err := s.Stat(ctx, tc.key); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("Stat after a failed Put = %v, want ErrNotFound", err)
				}
				if rc, err := s.Get(ctx, tc.key); !errors.Is(err, store.ErrNotFound) {
					if err == nil {
						rc.Close()
					}
					t.Fatalf("Get after a failed Put = %v, want ErrNotFound", err)
				}
			}
			if blocks := uncommittedBlocks(t, a, "abort", "p/"+tc.key); blocks < 1 {
				t.Fatalf("%d uncommitted blocks of p/%s on the server: the test did not stage any", blocks, tc.key)
			}
		})
	}
	infos, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != "vault/old/data.snap" || infos[0].Size != int64(len("old backup")) {
		t.Fatalf("List after failed Puts = %+v, want only the old backup", infos)
	}
	rc, err := s.Get(ctx, "vault/old/data.snap")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if data, err := io.ReadAll(rc); err != nil || string(data) != "old backup" {
		t.Fatalf("older backup after failed Puts = %q, %v", data, err)
	}
}

// uncommittedBlocks asks the server for the blob's uncommitted block list.
func uncommittedBlocks(t *testing.T, a *testenv.Azurite, containerName, blob string) int {
	t.Helper()
	bb := a.Client().ServiceClient().NewContainerClient(containerName).NewBlockBlobClient(blob)
	list, err := bb.GetBlockList(storetest.Context(t), blockblob.BlockListTypeUncommitted, nil)
	if err != nil {
		t.Fatalf("get uncommitted block list of %s: %v", blob, err)
	}
	return len(list.UncommittedBlocks)
}

// Blobs beside the prefix, including ones whose names start with the prefix's text, are
// invisible to the store and survive everything it does.
func TestPrefixIsolation(t *testing.T) {
	a := testenv.StartAzurite(t)
	a.MakeContainer("shared")
	ctx := storetest.Context(t)
	raw := a.Client()
	outside := []string{"other/x", "p2/x", "px", "p", "top"}
	for _, name := range outside {
		if _, err := raw.UploadBuffer(ctx, "shared", name, []byte(name), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Names under the prefix that no key can address, and a Data Lake directory entry.
	for _, name := range []string{"p/", "p/dir/", "p/a//b"} {
		if _, err := raw.UploadBuffer(ctx, "shared", name, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.UploadBuffer(ctx, "shared", "p/vault", nil, &blockblob.UploadBufferOptions{
		Metadata: map[string]*string{"hdi_isfolder": to.Ptr("true")},
	}); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t, a, Options{Container: "shared", Prefix: "p"})
	if err := s.Put(ctx, "mine", strings.NewReader("mine")); err != nil {
		t.Fatal(err)
	}
	infos, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != "mine" {
		t.Fatalf("List = %+v, want only the store's own blob", infos)
	}
	if _, err := raw.ServiceClient().NewContainerClient("shared").NewBlobClient("p/mine").GetProperties(ctx, nil); err != nil {
		t.Fatalf("the store's blob is not at p/mine: %v", err)
	}
	for _, key := range []string{"mine", "top", "x"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range outside {
		if _, err := raw.ServiceClient().NewContainerClient("shared").NewBlobClient(name).GetProperties(ctx, nil); err != nil {
			t.Fatalf("blob %s outside the prefix is gone: %v", name, err)
		}
	}
	if got, want := s.String(), "azure://"+a.Account+"/shared/p ("+a.Endpoint+"/"+a.Account+")"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// A Put stages blocks of the configured size and holds at most Concurrency of them: the
// SDK must not be left at its default of 8+ buffers, which would multiply the memory of
// every destination.
func TestPutStagesConfiguredBlocks(t *testing.T) {
	a := testenv.StartAzurite(t)
	a.MakeContainer("mem")
	s := newTestStore(t, a, Options{Container: "mem", Concurrency: 2})
	if s.concurrency != 2 || s.blockSize != MinBlockSize {
		t.Fatalf("store concurrency %d, block size %d", s.concurrency, s.blockSize)
	}
	if err := s.Put(storetest.Context(t), "big", io.LimitReader(storetest.Zeros{}, 10*MinBlockSize)); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(storetest.Context(t), "big")
	if err != nil || info.Size != 10*MinBlockSize {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	// Committed as 10 blocks of the configured size, not one Put Blob.
	bb := a.Client().ServiceClient().NewContainerClient("mem").NewBlockBlobClient("big")
	list, err := bb.GetBlockList(storetest.Context(t), blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.CommittedBlocks) != 10 || *list.CommittedBlocks[0].Size != MinBlockSize {
		t.Fatalf("committed %d blocks, want 10 of %d bytes", len(list.CommittedBlocks), MinBlockSize)
	}
}
