package kube

import (
	"context"
	"errors"
	"strconv"
)

// LivePods names the pods in ns matching selector that have not finished. A pod that is
// terminating still counts: its containers may be writing until they exit, which is
// exactly what a restore must wait out. (A Deployment's status.replicas drops as soon as
// pods are marked for deletion, so it cannot answer this.)
func (c *Client) LivePods(ctx context.Context, ns, selector string) ([]string, error) {
	var names []string
	r := call{verb: "list", resource: "pods", namespace: ns, kind: "pods"}
	cont := ""
	for {
		var page struct { // a v1 PodList, the fields read here
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []struct {
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Status struct {
					Phase string `json:"phase"`
				} `json:"status"`
			} `json:"items"`
		}
		err := c.do(ctx, r, func(ctx context.Context) error {
			req := c.rc.Get().AbsPath(coreV1).Namespace(ns).Resource("pods").Param("limit", strconv.Itoa(500))
			if selector != "" {
				req = req.Param("labelSelector", selector)
			}
			if cont != "" {
				req = req.Param("continue", cont)
			}
			return Into(req.Do(ctx), &page)
		})
		if err != nil {
			return nil, err
		}
		for _, p := range page.Items {
			if p.Status.Phase != "Succeeded" && p.Status.Phase != "Failed" {
				names = append(names, p.Metadata.Name)
			}
		}
		if page.Metadata.Continue == "" {
			return names, nil
		}
		cont = page.Metadata.Continue
	}
}

// DeletePod deletes one pod, so that its controller (a StatefulSet) starts it again on
// the same volumes: the one way to restart a server process from outside its container.
// A pod that is already gone is not an error.
func (c *Client) DeletePod(ctx context.Context, ns, name string) error {
	r := call{verb: "delete", resource: "pods", namespace: ns, kind: "pod", name: name}
	err := c.do(ctx, r, func(ctx context.Context) error {
		return c.rc.Delete().AbsPath(coreV1).Namespace(ns).Resource("pods").Name(name).Do(ctx).Error()
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
