package kube

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LivePods names the pods in ns matching selector that have not finished. A pod that is
// terminating still counts: its containers may be writing until they exit, which is
// exactly what a restore must wait out. (A Deployment's status.replicas drops as soon as
// pods are marked for deletion, so it cannot answer this.)
func (c *Client) LivePods(ctx context.Context, ns, selector string) ([]string, error) {
	var names []string
	r := call{verb: "list", resource: "pods", namespace: ns, kind: "pods"}
	opts := metav1.ListOptions{LabelSelector: selector, Limit: 500}
	for {
		var page *corev1.PodList
		err := c.do(ctx, r, func(ctx context.Context) (err error) {
			page, err = c.cs.CoreV1().Pods(ns).List(ctx, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, p := range page.Items {
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				names = append(names, p.Name)
			}
		}
		if page.Continue == "" {
			return names, nil
		}
		opts.Continue = page.Continue
	}
}

// DeletePod deletes one pod, so that its controller (a StatefulSet) starts it again on
// the same volumes: the one way to restart a server process from outside its container.
// A pod that is already gone is not an error.
func (c *Client) DeletePod(ctx context.Context, ns, name string) error {
	r := call{verb: "delete", resource: "pods", namespace: ns, kind: "pod", name: name}
	err := c.do(ctx, r, func(ctx context.Context) error {
		return c.cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{})
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
