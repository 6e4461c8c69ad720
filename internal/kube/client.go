package kube

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
)

// The API paths of the groups Client uses.
const (
	coreV1 = "/api/v1"
	appsV1 = "/apis/apps/v1"
)

// Client is the typed part of the Kubernetes API the restore hooks and the unseal keys
// use. It is safe for concurrent use. It decodes answers into small structs of the fields
// it reads rather than using client-go's typed clientset (see NewREST).
type Client struct {
	host string
	rc   *rest.RESTClient
}

// New makes a Client for cfg (see RESTConfig). Nothing is sent to the server yet.
func New(cfg *rest.Config) (*Client, error) {
	rc, err := NewREST(cfg, nil)
	if err != nil {
		return nil, err
	}
	return &Client{host: cfg.Host, rc: rc}, nil
}

// String names the server for logs.
func (c *Client) String() string { return c.host }

// call describes one request for error messages, in the words of RBAC rules
// ("patch deployments/scale").
type call struct {
	verb, resource, namespace, kind, name string
}

// do runs send, retrying what an API server restart or overload (etcd leader change,
// rolling upgrade) makes fail: a scale-back that gives up on the first 503 would leave a
// controller at 0. client-go itself retries only answers that carry Retry-After. Every
// request lifeboat sends is safe to repeat: reads and absolute merge patches.
func (c *Client) do(ctx context.Context, r call, send func(context.Context) error) error {
	var lastErr error
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(lastErr, context.Cause(ctx))
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		err := send(ctx)
		if err == nil {
			return nil
		}
		if status, ok := err.(apierrors.APIStatus); ok && status.Status().Code != 0 {
			code := int(status.Status().Code)
			lastErr = newAPIError(code, r, status.Status().Message)
			if code != http.StatusTooManyRequests && code < 500 {
				return lastErr
			}
			continue
		}
		lastErr = fmt.Errorf("%s %s %s: %w", r.verb, r.resource, r.object(), err)
		if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
			return fmt.Errorf("%w: the API server's certificate is not signed by the configured CA; check restore.kubernetes.caFile (or the certificate-authority of the kubeconfig's cluster)", lastErr)
		}
		if ctx.Err() != nil {
			return lastErr
		}
	}
	return lastErr
}

func (r call) object() string {
	switch {
	case r.name == "":
		return "in namespace " + r.namespace
	case r.namespace == "":
		return r.name
	}
	return r.namespace + "/" + r.name
}
