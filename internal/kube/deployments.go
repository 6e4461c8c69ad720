package kube

import (
	"context"
	"net/http"
	"net/url"
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

// deploymentCall addresses a Deployment, or its scale subresource when resource is
// "deployments/scale".
func deploymentCall(method, verb, resource, ns, name string) call {
	path := "/apis/apps/v1/namespaces/" + url.PathEscape(ns) + "/deployments/" + url.PathEscape(name)
	if resource == "deployments/scale" {
		path += "/scale"
	}
	return call{method: method, path: path, verb: verb, resource: resource, namespace: ns, kind: "deployment", name: name}
}

// GetDeployment reads a Deployment's replica count and annotations.
func (c *Client) GetDeployment(ctx context.Context, ns, name string) (Deployment, error) {
	var d struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Replicas *int32 `json:"replicas"`
		} `json:"spec"`
	}
	if err := c.do(ctx, deploymentCall(http.MethodGet, "get", "deployments", ns, name), &d); err != nil {
		return Deployment{}, err
	}
	out := Deployment{Replicas: 1, Annotations: d.Metadata.Annotations} // the API's default
	if d.Spec.Replicas != nil {
		out.Replicas = *d.Spec.Replicas
	}
	return out, nil
}

// GetScale reads the scale subresource.
func (c *Client) GetScale(ctx context.Context, ns, name string) (Scale, error) {
	var s struct {
		Spec struct {
			Replicas int32 `json:"replicas"`
		} `json:"spec"`
		Status struct {
			Replicas int32  `json:"replicas"`
			Selector string `json:"selector"`
		} `json:"status"`
	}
	err := c.do(ctx, deploymentCall(http.MethodGet, "get", "deployments/scale", ns, name), &s)
	return Scale{Spec: s.Spec.Replicas, Status: s.Status.Replicas, Selector: s.Status.Selector}, err
}

// SetScale sets the desired replicas through the scale subresource, as kubectl scale
// does: it changes the replica count and nothing else in the spec.
func (c *Client) SetScale(ctx context.Context, ns, name string, replicas int32) error {
	r := deploymentCall(http.MethodPatch, "patch", "deployments/scale", ns, name)
	r.patch = map[string]any{"spec": map[string]any{"replicas": replicas}}
	return c.do(ctx, r, nil)
}

// Annotate sets one annotation on a Deployment; an empty value removes it. A merge patch
// touches only that key, so it cannot undo a concurrent change to anything else.
func (c *Client) Annotate(ctx context.Context, ns, name, key, value string) error {
	var v any = value
	if value == "" {
		v = nil // null deletes the key in a JSON merge patch
	}
	r := deploymentCall(http.MethodPatch, "patch", "deployments", ns, name)
	r.patch = map[string]any{"metadata": map[string]any{"annotations": map[string]any{key: v}}}
	return c.do(ctx, r, nil)
}
