package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// memStore is a map-backed store.Store for catalog's tests: it keeps the store contract
// (atomic put, not-found errors, idempotent delete), sets the modification times and
// records the order of deletes. Faults come from wrapping it in faulty.Store.
type memStore struct {
	mu      sync.Mutex
	objs    map[string]memObj
	now     time.Time // modification time given to the next Put
	deleted []string  // keys deleted, in order
}

type memObj struct {
	data []byte
	mod  time.Time
}

func newMemStore(now time.Time) *memStore {
	return &memStore{objs: map[string]memObj{}, now: now}
}

func (s *memStore) Put(ctx context.Context, key string, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs[key] = memObj{data: data, mod: s.now}
	return nil
}

func (s *memStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, store.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

func (s *memStore) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[key]
	if !ok {
		return store.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, store.ErrNotFound)
	}
	return store.ObjectInfo{Key: key, Size: int64(len(o.data)), Modified: o.mod}, nil
}

func (s *memStore) List(ctx context.Context, prefix string) ([]store.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.ObjectInfo
	for k, o := range s.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, store.ObjectInfo{Key: k, Size: int64(len(o.data)), Modified: o.mod})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *memStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, key)
	s.deleted = append(s.deleted, key)
	return nil
}

func (s *memStore) String() string { return "mem://test" }

func (s *memStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ks []string
	for k := range s.objs {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

var errInjected = errors.New("injected failure")
