package gcs

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// objectAttrs is what lifeboat reads of an object's metadata.
type objectAttrs struct {
	Name    string    `json:"name"`
	Size    jsonInt   `json:"size"`
	Updated time.Time `json:"updated"`
}

// jsonInt is an int64 that the JSON API sends as a string ("size": "123"); a bare number
// is accepted too.
type jsonInt int64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	*n = jsonInt(v)
	return err
}

// Get opens the object. The request is sent here, so a missing object is reported here
// and not on the first Read. A whole object read to its end is checked against the CRC32C
// GCS keeps for it.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s from %s: %w", key, s, err)
	}
	resp, err := s.do(ctx, request{method: http.MethodGet, url: s.objectURL(name, url.Values{"alt": {"media"}})})
	if err != nil {
		return nil, s.objectErr(ctx, "get", key, err)
	}
	return newCheckedBody(resp, fmt.Sprintf("get %s from %s", key, s)), nil
}

// checkedBody verifies the CRC32C of a download when the server sent one (X-Goog-Hash)
// and the content is not transcoded, so corruption on the way is an error, not a backup
// that fails to restore later.
type checkedBody struct {
	io.ReadCloser
	crc  hash.Hash32
	want uint32
	what string
}

func newCheckedBody(resp *http.Response, what string) io.ReadCloser {
	if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("X-Goog-Stored-Content-Encoding") == "gzip" {
		return resp.Body
	}
	for _, v := range resp.Header.Values("X-Goog-Hash") {
		for _, part := range strings.Split(v, ",") {
			sum, ok := strings.CutPrefix(strings.TrimSpace(part), "crc32c=")
			if !ok {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(sum)
			if err != nil || len(raw) != 4 {
				return resp.Body
			}
			return &checkedBody{ReadCloser: resp.Body, crc: crc32.New(crc32.MakeTable(crc32.Castagnoli)),
				want: binary.BigEndian.Uint32(raw), what: what}
		}
	}
	return resp.Body
}

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.crc.Write(p[:n])
	if err == io.EOF && b.crc.Sum32() != b.want {
		return n, fmt.Errorf("%s: the content read does not match the object's CRC32C checksum (corrupted in transit): retry", b.what)
	}
	return n, err
}

// Stat returns the object's size and modification time (its generation's creation).
func (s *Store) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	name, err := s.object(key)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.ObjectInfo{}, fmt.Errorf("stat %s in %s: %w", key, s, err)
	}
	var attrs objectAttrs
	err = s.getJSON(ctx, s.objectURL(name, url.Values{"fields": {"name,size,updated"}}), &attrs)
	if err != nil {
		return store.ObjectInfo{}, s.objectErr(ctx, "stat", key, err)
	}
	return store.ObjectInfo{Key: key, Size: int64(attrs.Size), Modified: attrs.Updated}, nil
}

// List returns the objects under the destination's prefix whose keys start with prefix.
// Objects whose names are not valid keys (folder placeholders made by the console, "a//b")
// are skipped: lifeboat never wrote them and could not address them.
func (s *Store) List(ctx context.Context, prefix string) ([]store.ObjectInfo, error) {
	if err := keys.CheckPrefix(prefix); err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, s, err)
	}
	out := []store.ObjectInfo{}
	q := url.Values{"prefix": {s.prefix + prefix}, "projection": {"noAcl"}, "fields": {"items(name,size,updated),nextPageToken"}}
	for {
		var page struct {
			Items         []objectAttrs `json:"items"`
			NextPageToken string        `json:"nextPageToken"`
		}
		if err := s.getJSON(ctx, s.bucketURL("/o?"+q.Encode()), &page); err != nil {
			return nil, s.explain(ctx, "list", prefix, err)
		}
		for _, attrs := range page.Items {
			key, ok := keys.Relative(attrs.Name, s.prefix)
			if !ok {
				continue
			}
			out = append(out, store.ObjectInfo{Key: key, Size: int64(attrs.Size), Modified: attrs.Updated})
		}
		if page.NextPageToken == "" {
			break
		}
		q.Set("pageToken", page.NextPageToken)
	}
	// GCS lists in UTF-8 byte order already; an emulator or a private endpoint might not.
	store.SortByKey(out)
	return out, nil
}

// Delete removes the object; one that is not there is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s from %s: %w", key, s, err)
	}
	resp, err := s.do(ctx, request{method: http.MethodDelete, url: s.objectURL(name, nil)})
	if err != nil {
		err = s.objectErr(ctx, "delete", key, err)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	drain(resp)
	return nil
}

// getJSON GETs a JSON API resource into v.
func (s *Store) getJSON(ctx context.Context, u string, v any) error {
	resp, err := s.do(ctx, request{method: http.MethodGet, url: u})
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("reading the answer of %s: %w", s.host, err)
	}
	return nil
}
