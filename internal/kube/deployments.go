package kube

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
)

// Scale is a Deployment's scale subresource (autoscaling/v1 Scale).
type Scale struct {
	Spec   int32 // desired replicas
	Status int32 // replicas the controller counts as existing; 0 once it has acted
	// Selector is the label selector of the Deployment's pods in query form
	// ("app=x,tier in (a,b)"), ready for a pod list.
	Selector string
}

// Deployment is the part of an apps/v1 Deployment lifeboat reads.
type Deployment struct {
	Replicas    int32 // spec.replicas
	Annotations map[string]string
}

func deploymentCall(verb, resource, ns, name string) call {
	return call{verb: verb, resource: resource, namespace: ns, kind: "deployment", name: name}
}

// GetDeployment reads a Deployment's replica count and annotations.
func (c *Client) GetDeployment(ctx context.Context, ns, name string) (Deployment, error) {
	var out Deployment
	err := c.do(ctx, deploymentCall("get", "deployments", ns, name), func(ctx context.Context) error {
		var d struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec struct {
				Replicas *int32 `json:"replicas"`
			} `json:"spec"`
		}
		err := Into(c.rc.Get().AbsPath(appsV1).Namespace(ns).Resource("deployments").Name(name).Do(ctx), &d)
		if err != nil {
			return err
		}
		out = Deployment{Replicas: 1, Annotations: d.Metadata.Annotations} // 1 is the API's default
		if d.Spec.Replicas != nil {
			out.Replicas = *d.Spec.Replicas
		}
		return nil
	})
	return out, err
}

// GetScale reads the scale subresource.
func (c *Client) GetScale(ctx context.Context, ns, name string) (Scale, error) {
	var out Scale
	err := c.do(ctx, deploymentCall("get", "deployments/scale", ns, name), func(ctx context.Context) error {
		var s struct { // autoscaling/v1 Scale
			Spec struct {
				Replicas int32 `json:"replicas"`
			} `json:"spec"`
			Status struct {
				Replicas int32  `json:"replicas"`
				Selector string `json:"selector"`
			} `json:"status"`
		}
		err := Into(c.rc.Get().AbsPath(appsV1).Namespace(ns).Resource("deployments").Name(name).SubResource("scale").Do(ctx), &s)
		if err != nil {
			return err
		}
		out = Scale{Spec: s.Spec.Replicas, Status: s.Status.Replicas, Selector: s.Status.Selector}
		return nil
	})
	return out, err
}

// SetScale sets the desired replicas through the scale subresource, as kubectl scale
// does: it changes the replica count and nothing else in the spec. It is a merge patch,
// not an update of the Scale, so the RBAC verb stays patch (RequiredRBAC, the chart's
// Role), and not a server-side apply, which would make lifeboat an owner of spec.replicas.
func (c *Client) SetScale(ctx context.Context, ns, name string, replicas int32) error {
	return c.patch(ctx, deploymentCall("patch", "deployments/scale", ns, name),
		map[string]any{"spec": map[string]any{"replicas": replicas}}, "scale")
}

// Annotate sets one annotation on a Deployment; an empty value removes it. A merge patch
// touches only that key, so it cannot undo a concurrent change to anything else.
func (c *Client) Annotate(ctx context.Context, ns, name, key, value string) error {
	var v any = value
	if value == "" {
		v = nil // null deletes the key in a JSON merge patch
	}
	return c.patch(ctx, deploymentCall("patch", "deployments", ns, name),
		map[string]any{"metadata": map[string]any{"annotations": map[string]any{key: v}}})
}

// patch sends a JSON merge patch to a Deployment or one of its subresources and ignores
// the answer.
func (c *Client) patch(ctx context.Context, r call, patch any, subresource ...string) error {
	body, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", r.verb, r.resource, err)
	}
	return c.do(ctx, r, func(ctx context.Context) error {
		return c.rc.Patch(types.MergePatchType).
			AbsPath(appsV1).Namespace(r.namespace).Resource("deployments").Name(r.name).SubResource(subresource...).
			Body(body).Do(ctx).Error()
	})
}
