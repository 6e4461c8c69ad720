package config

import (
	"slices"
	"testing"
)

func TestNotifications(t *testing.T) {
	tests := []struct {
		name, block, want string
	}{
		{"webhook", `
  - name: ops
    kind: webhook
    webhook: {url: "https://hooks.example.com/lifeboat", secret: {file: /s/hmac}}
    events: [failure, recovery, success]`, ""},
		{"slack", `
  - name: chat
    kind: slack
    slack: {url: {env: SLACK_WEBHOOK_URL}}`, ""},
		{"name required", `
  - kind: slack
    slack: {url: {env: SLACK_URL}}`, "notifications[0].name: required"},
		{"bad name", `
  - name: Ops_Chat
    kind: slack
    slack: {url: {env: SLACK_URL}}`, `notifications[0].name: invalid name "Ops_Chat"`},
		{"duplicate name", `
  - {name: a, kind: slack, slack: {url: {env: A}}}
  - {name: a, kind: slack, slack: {url: {env: B}}}`, `notifications[1].name: duplicate notifier name "a"`},
		{"kind required", `
  - {name: a, slack: {url: {env: A}}}`, "notifications[0].kind: required; one of webhook, slack"},
		{"unknown kind", `
  - {name: a, kind: email}`, `notifications[0].kind: must be one of webhook, slack (got "email")`},
		{"block missing", `
  - {name: a, kind: webhook}`, "notifications[0].webhook: required for kind webhook"},
		{"webhook url required", `
  - {name: a, kind: webhook, webhook: {secret: {file: /s}}}`, "notifications[0].webhook.url: required"},
		{"webhook url not http", `
  - {name: a, kind: webhook, webhook: {url: "ftp://x/y", secret: {file: /s}}}`, "notifications[0].webhook.url: must be an http:// or https:// URL"},
		{"webhook url with credentials", `
  - {name: a, kind: webhook, webhook: {url: "https://u:pw@x/y", secret: {file: /s}}}`, "notifications[0].webhook.url: must not carry credentials"},
		{"webhook secret required", `
  - {name: a, kind: webhook, webhook: {url: "https://x/y"}}`, "notifications[0].webhook.secret: required; use {file: /path} or {env: NAME}"},
		{"webhook secret inline", `
  - {name: a, kind: webhook, webhook: {url: "https://x/y", secret: hunter2}}`, "notifications[0].webhook.secret: inline secrets are not allowed"},
		{"slack url required", `
  - {name: a, kind: slack, slack: {}}`, "notifications[0].slack.url: required; use {file: /path} or {env: NAME}"},
		{"slack url inline is refused", `
  - {name: a, kind: slack, slack: {url: "https://hooks.slack.com/services/T0/B0/xyz"}}`, "notifications[0].slack.url: inline secrets are not allowed"},
		{"slack url bad env name", `
  - {name: a, kind: slack, slack: {url: {env: "1X"}}}`, `notifications[0].slack.url.env: "1X" is not an environment variable name`},
		{"unknown event", `
  - {name: a, kind: slack, slack: {url: {env: A}}, events: [failure, failed]}`, `notifications[0].events[1]: must be one of failure, partial, recovery, drill-failure, damaged-copy, success (got "failed")`},
		{"duplicate event", `
  - {name: a, kind: slack, slack: {url: {env: A}}, events: [failure, failure]}`, `notifications[0].events[1]: duplicate event "failure"`},
		{"empty events", `
  - {name: a, kind: slack, slack: {url: {env: A}}, events: []}`, "notifications[0].events: empty"},
		{"misspelled field", `
  - {name: a, kind: slack, slack: {url: {env: A}}, event: [failure]}`, `notifications[0].event: unknown field (did you mean "events"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkOneProblem(t, okSources+okDests+"notifications:"+tt.block+"\n", tt.want)
		})
	}
}

func TestNotificationDefaultEvents(t *testing.T) {
	c, err := Parse([]byte(okSources + okDests + `
notifications:
  - {name: a, kind: slack, slack: {url: {env: A}}}
  - {name: b, kind: slack, slack: {url: {env: B}}, events: [success]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Notifications[0].Events; !slices.Equal(got, DefaultNotifyEvents) || slices.Contains(got, EventSuccess) {
		t.Errorf("default events = %v, want %v (without success)", got, DefaultNotifyEvents)
	}
	if n := c.Notifications[1]; !n.Wants(EventSuccess) || n.Wants(EventFailure) {
		t.Errorf("explicit events = %v, want only success", n.Events)
	}
}
