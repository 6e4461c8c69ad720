package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// newTestStore opens a store on m with its root credentials, path-style like most
// self-hosted servers, and the smallest part size so multipart paths run with little data.
func newTestStore(t *testing.T, m *testenv.MinIO, o Options) *Store {
	t.Helper()
	o.Endpoint = cmpOr(o.Endpoint, m.URL())
	o.AccessKeyID = cmpOr(o.AccessKeyID, m.AccessKey)
	o.SecretAccessKey = cmpOr(o.SecretAccessKey, m.SecretKey)
	o.PathStyle = true
	if o.PartSize == 0 {
		o.PartSize = MinPartSize
	}
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
	m := testenv.StartMinIO(t)
	m.MakeBucket("lifeboat")
	var n atomic.Int64
	t.Run("Prefix", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t, m, Options{Bucket: "lifeboat", Prefix: fmt.Sprintf("/team/conformance-%d/", n.Add(1))})
		})
	})
	t.Run("BucketRoot", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			bucket := fmt.Sprintf("root-%d", n.Add(1))
			m.MakeBucket(bucket)
			return newTestStore(t, m, Options{Bucket: bucket})
		})
	})
}

// Objects beside the prefix, including ones whose names start with the prefix's text, are
// invisible to the store and survive everything it does.
func TestPrefixIsolation(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBucket("shared")
	ctx := storetest.Context(t)
	raw := m.Client()
	// No object named exactly "p": MinIO's single-drive backend is a filesystem and then hides
	// everything under "p/" (AWS would not).
	outside := []string{"other/x", "p2/x", "px", "top"}
	for _, name := range outside {
		if _, err := raw.PutObject(ctx, "shared", name, strings.NewReader(name), int64(len(name)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Names under the prefix that no key can address: folder markers made by consoles.
	for _, name := range []string{"p/", "p/dir/"} {
		if _, err := raw.PutObject(ctx, "shared", name, strings.NewReader(""), 0, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s := newTestStore(t, m, Options{Bucket: "shared", Prefix: "p"})
	if err := s.Put(ctx, "mine", strings.NewReader("mine")); err != nil {
		t.Fatal(err)
	}
	infos, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != "mine" {
		t.Fatalf("List = %+v, want only the store's own object", infos)
	}
	if _, err := raw.StatObject(ctx, "shared", "p/mine", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("the store's object is not at p/mine: %v", err)
	}
	for _, key := range []string{"mine", "top", "x"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range outside {
		if _, err := raw.StatObject(ctx, "shared", name, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("object %s outside the prefix is gone: %v", name, err)
		}
	}
	if got := s.String(); got != "s3://shared/p ("+m.Endpoint+")" {
		t.Fatalf("String() = %q", got)
	}
}

// A failed or cancelled Put must not leave a multipart upload (and its parts, which cost
// storage but are invisible to listings) behind.
func TestFailedPutAbortsUpload(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBucket("abort")
	s := newTestStore(t, m, Options{Bucket: "abort", Prefix: "p"})
	boom := errors.New("source broke")

	ctx, cancel := context.WithCancel(storetest.Context(t))
	defer cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
		want error
	}{
		// 2.5 parts: two parts are uploaded before the failure.
		{"reader fails", storetest.Context(t), io.MultiReader(io.LimitReader(storetest.Zeros{}, 2*MinPartSize+MinPartSize/2), storetest.ErrReader{Err: boom}), boom},
		{"context cancelled", ctx, &storetest.HookAfter{R: storetest.Zeros{}, N: 2*MinPartSize + 1, Hook: cancel}, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Put(tc.ctx, "vault/id/data.snap", tc.r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put = %v, want %v", err, tc.want)
			}
			wantNoUploads(t, m, "abort")
			if _, err := s.Stat(storetest.Context(t), "vault/id/data.snap"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Stat after a failed Put = %v, want ErrNotFound", err)
			}
		})
	}
}

func wantNoUploads(t *testing.T, m *testenv.MinIO, bucket string) {
	t.Helper()
	for upload := range m.Client().ListIncompleteUploads(storetest.Context(t), bucket, "", true) {
		if upload.Err != nil {
			t.Fatalf("list incomplete uploads: %v", upload.Err)
		}
		t.Fatalf("incomplete upload left behind: %s (%s)", upload.Key, upload.UploadID)
	}
}

// Without static keys the standard chain is used; AWS_* variables come first.
func TestCredentialChain(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBucket("chain")
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	s, err := New(Options{Endpoint: m.Endpoint, Insecure: true, Bucket: "chain", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := storetest.Context(t)
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", strings.NewReader("v")); err != nil {
		t.Fatal(err)
	}
}
