package kube

import (
	"encoding/json"
	"fmt"
	"net/http"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// NewREST makes a client for any path of cfg's API server (requests name theirs with
// AbsPath) that sends and accepts JSON. It stands in for client-go's typed clientset and
// discovery client: their packages pull in the OpenAPI models and every API group's
// types, whose initialisation alone costs every lifeboat command ~11 MiB of resident
// memory. Errors are still apierrors (a Status answer decodes into an APIStatus with its
// code, reason and message), because the serializer is the dynamic client's, which knows
// metav1.Status. hc, when not nil, is shared with other clients of the same server (one
// connection pool, one token file reader).
func NewREST(cfg *rest.Config, hc *http.Client) (*rest.RESTClient, error) {
	c := dynamic.ConfigFor(cfg)
	// JSON only, even with client-go's CBOR feature gates set: answers are decoded with
	// encoding/json.
	c.ContentType, c.AcceptContentTypes = "application/json", "application/json"
	c.GroupVersion = nil
	var (
		rc  *rest.RESTClient
		err error
	)
	if hc != nil {
		rc, err = rest.UnversionedRESTClientForConfigAndClient(c, hc)
	} else {
		rc, err = rest.UnversionedRESTClientFor(c)
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	return rc, nil
}

// Into decodes a JSON answer into out (nil ignores the body). A refusal is the API
// server's Status as an apierrors error, as the typed clients return it.
func Into(res rest.Result, out any) error {
	if err := res.Error(); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	body, err := res.Raw()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode the API server's answer: %w", err)
	}
	return nil
}
