package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// The chart in agent mode from deploy/examples/lifeboat-agent.yaml, pointed at the test's
// servers: the agent pod serves its API, page and /metrics on the pod's address; a backup
// started through the API lands in MinIO and shows on the page (read with headless
// Chromium) and in /metrics.
func TestAgentOnKubernetes(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	const (
		ns      = "lb-agent"
		release = "lifeboat"
		bucket  = "lifeboat"
		token   = "agent-test-token-0123456789abcdef"
	)
	pg := testenv.StartPostgresOn(t, c.HostIP())
	pg.CreateArgo("argo", 103, 300)
	m := testenv.StartMinIOOn(t, c.HostIP())
	m.MakeBucket(bucket)

	namespace(t, c, ns)
	secret(t, c, ns, "lifeboat-api", map[string]string{"token": token})
	signingSecret, signingPub := signingKey(t)
	secret(t, c, ns, "lifeboat-signing", signingSecret)
	secret(t, c, ns, "lifeboat-s3", map[string]string{"access-key-id": m.AccessKey, "secret-access-key": m.SecretKey})
	secret(t, c, ns, "lifeboat-postgres-dsn", map[string]string{
		"dsn": fmt.Sprintf("host=%s port=%d dbname=argo user=%s password=%s sslmode=disable", pg.Host, pg.Port, pg.User, pg.Password),
	})
	// The example as written, with what differs in this cluster: its own image, no Vault
	// in this test, MinIO on the host, no prometheus-operator. The test reads /metrics and
	// the page (headless Chromium, not signed in) from the host without the token, so it
	// opens the read-only endpoints and the agent's port, which the chart closes by default.
	overrides := map[string]any{
		"image":         map[string]any{"tag": "dev", "pullPolicy": "Never"},
		"agent":         map[string]any{"openReadOnly": true},
		"signing":       map[string]any{"publicKeys": []string{signingPub}},
		"networkPolicy": map[string]any{"ingressFromAnywhere": true},
		"vault":         map[string]any{"backup": map[string]any{"enabled": false}},
		"destinations": []any{map[string]any{
			"name": "minio", "type": "s3", "bucket": bucket, "prefix": "prod", "endpoint": m.URL(), "pathStyle": true,
			"region": "us-east-1", "secretRef": map[string]any{"name": "lifeboat-s3"},
			"retention": map[string]any{"keepWithin": "3d", "keepDaily": 14, "keepWeekly": 8},
		}},
		"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": false}, "prometheusRule": map[string]any{"enabled": false}},
	}
	example := filepath.Join(testenv.RepoRoot(), "deploy", "examples", "lifeboat-agent.yaml")
	helm(t, c, "install", release, chartDir(), "--namespace", ns, "--values", example, "--values", writeValues(t, overrides))

	var base string
	waitUntil(t, 3*time.Minute, "the agent pod to be ready", func() error {
		var pods podList
		if err := get(c, "/api/v1/namespaces/"+ns+"/pods?labelSelector=app.kubernetes.io/component%3Dagent", &pods); err != nil {
			return err
		}
		for _, p := range pods.Items {
			if len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].Ready && p.Status.PodIP != "" {
				base = "http://" + p.Status.PodIP + ":8080"
				return nil
			}
		}
		return fmt.Errorf("not ready yet:\n%s", podsLog(c, ns, "app.kubernetes.io/component%3Dagent"))
	})

	call := func(method, path string, auth bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := call(http.MethodPost, "/api/v1/sources/workflows/backup", false); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Fatalf("a backup was accepted without the token (HTTP %d)", code)
	}
	// The agent may be busy with a run of its own (it catches up a schedule it has never
	// run); a trigger then gets 409 and is tried again once that run ended.
	var runningID string
	waitUntil(t, 3*time.Minute, "the agent to accept a backup request", func() error {
		code, body := call(http.MethodPost, "/api/v1/sources/workflows/backup", true)
		if code/100 == 2 {
			var resp struct{ ID, RunID string }
			_ = json.Unmarshal([]byte(body), &resp)
			runningID = resp.ID + resp.RunID
			return nil
		}
		if code != http.StatusConflict {
			t.Fatalf("trigger a backup: HTTP %d: %s", code, body)
		}
		return fmt.Errorf("HTTP %d: %s", code, body)
	})
	var id string
	waitUntil(t, 3*time.Minute, "the triggered backup "+runningID+" to be committed in MinIO", func() error {
		// Ids sort by time to the second only: the agent's own run may share the second.
		ids := committedBackups(t, m, bucket, "workflows")
		if len(ids) == 0 || (runningID != "" && !slices.Contains(ids, runningID)) {
			return fmt.Errorf("committed so far: %v", ids)
		}
		id = runningID
		if id == "" {
			id = ids[0]
		}
		return nil
	})
	waitUntil(t, time.Minute, "/metrics to show the success", func() error {
		code, body := call(http.MethodGet, "/metrics", false)
		if code != http.StatusOK || !strings.Contains(body, `lifeboat_backup_last_success_timestamp_seconds{source="workflows"}`) {
			return fmt.Errorf("HTTP %d, no last-success sample for workflows", code)
		}
		return nil
	})

	ctx := testenv.Browser(t)
	var page string
	waitUntil(t, time.Minute, "the page to list backup "+id, func() error {
		runCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(runCtx, chromedp.Navigate(base+"/")); err != nil {
			return err
		}
		text, err := chromedp.Run(runCtx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			return err
		}
		page = text
		if !strings.Contains(page, id) {
			return fmt.Errorf("the page does not show %s:\n%s", id, page)
		}
		return nil
	})
}
