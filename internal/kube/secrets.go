package kube

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GetSecret reads a Secret's data, base64-decoded. lifeboat only ever reads Secrets.
func (c *Client) GetSecret(ctx context.Context, ns, name string) (map[string][]byte, error) {
	var data map[string][]byte
	r := call{verb: "get", resource: "secrets", namespace: ns, kind: "secret", name: name}
	err := c.do(ctx, r, func(ctx context.Context) error {
		s, err := c.cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		data = s.Data
		return nil
	})
	return data, err
}
