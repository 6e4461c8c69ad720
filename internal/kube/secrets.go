package kube

import (
	"context"
	"net/http"
	"net/url"
)

// GetSecret reads a Secret's data, base64-decoded. lifeboat only ever reads Secrets.
func (c *Client) GetSecret(ctx context.Context, ns, name string) (map[string][]byte, error) {
	var s struct {
		Data map[string][]byte `json:"data"` // encoding/json decodes base64 into []byte
	}
	r := call{method: http.MethodGet, path: "/api/v1/namespaces/" + url.PathEscape(ns) + "/secrets/" + url.PathEscape(name),
		verb: "get", resource: "secrets", namespace: ns, kind: "secret", name: name}
	if err := c.do(ctx, r, &s); err != nil {
		return nil, err
	}
	return s.Data, nil
}
