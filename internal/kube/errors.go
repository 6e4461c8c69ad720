package kube

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels an APIError matches with errors.Is, so callers branch without parsing text.
var (
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
)

// APIError is a non-2xx answer. Its message says what the operator has to change,
// followed by the API server's own message, which names the user and the exact rule.
type APIError struct {
	StatusCode int
	Message    string // the Status object's message, or the body when there is none (client-go puts it there)
	Verb       string // the RBAC verb: get, list, patch
	Resource   string // the RBAC resource: deployments, deployments/scale, pods, secrets
	Namespace  string
	Kind       string // deployment, secret
	Name       string
}

func newAPIError(code int, r call, message string) *APIError {
	message = strings.TrimSpace(message)
	if len(message) > 512 {
		message = message[:512] + "…"
	}
	return &APIError{StatusCode: code, Message: message, Verb: r.verb, Resource: r.resource, Namespace: r.namespace, Kind: r.kind, Name: r.name}
}

func (e *APIError) Error() string {
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Sprintf("the Kubernetes API rejected lifeboat's token (%s): check restore.kubernetes.tokenFile (or the user of the kubeconfig's context), or that the pod's service account token is mounted and not expired", e.Message)
	case http.StatusForbidden:
		return fmt.Sprintf("forbidden: lifeboat's service account needs RBAC permission to %s %s in namespace %s: %s; see the Helm chart's Role", e.Verb, e.Resource, e.Namespace, e.Message)
	case http.StatusNotFound:
		return fmt.Sprintf("%s %s/%s not found (%s)", e.Kind, e.Namespace, e.Name, e.Message)
	}
	return fmt.Sprintf("%s %s %s/%s: %d %s: %s", e.Verb, e.Resource, e.Namespace, e.Name, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Is matches the sentinel for the status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	}
	return false
}
