package kube

import (
	"context"
)

// GetSecret reads a Secret's data, base64-decoded. lifeboat only ever reads Secrets.
func (c *Client) GetSecret(ctx context.Context, ns, name string) (map[string][]byte, error) {
	var data map[string][]byte
	r := call{verb: "get", resource: "secrets", namespace: ns, kind: "secret", name: name}
	err := c.do(ctx, r, func(ctx context.Context) error {
		var s struct {
			Data map[string][]byte `json:"data"` // encoding/json decodes the base64
		}
		if err := Into(c.rc.Get().AbsPath(coreV1).Namespace(ns).Resource("secrets").Name(name).Do(ctx), &s); err != nil {
			return err
		}
		data = s.Data
		return nil
	})
	return data, err
}
