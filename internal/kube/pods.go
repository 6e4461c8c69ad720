package kube

import (
	"context"
	"net/http"
	"net/url"
)

// LivePods names the pods in ns matching selector that have not finished. A pod that is
// terminating still counts: its containers may be writing until they exit, which is
// exactly what a restore must wait out. (A Deployment's status.replicas drops as soon as
// pods are marked for deletion, so it cannot answer this.)
func (c *Client) LivePods(ctx context.Context, ns, selector string) ([]string, error) {
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Status struct {
				Phase string `json:"phase"`
			} `json:"status"`
		} `json:"items"`
	}
	r := call{method: http.MethodGet, path: "/api/v1/namespaces/" + url.PathEscape(ns) + "/pods",
		verb: "list", resource: "pods", namespace: ns, kind: "pods"}
	r.query = url.Values{"labelSelector": {selector}}
	if err := c.do(ctx, r, &list); err != nil {
		return nil, err
	}
	var names []string
	for _, p := range list.Items {
		if p.Status.Phase != "Succeeded" && p.Status.Phase != "Failed" {
			names = append(names, p.Metadata.Name)
		}
	}
	return names, nil
}
