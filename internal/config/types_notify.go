package config

// Notifier kinds.
const (
	NotifierWebhook = "webhook"
	NotifierSlack   = "slack"
)

// Notification events a notifier can subscribe to.
const (
	EventFailure      = "failure"       // a backup run committed nowhere
	EventPartial      = "partial"       // a backup run failed on some destinations, or their retention failed
	EventRecovery     = "recovery"      // the first ok run of a source after a failed or partial one
	EventDrillFailure = "drill-failure" // a restore drill failed
	EventDamagedCopy  = "damaged-copy"  // verify or a listing found a damaged or missing copy
	EventSuccess      = "success"       // a backup run committed to every destination
)

// NotifyEvents are every event, in the order the docs list them.
var NotifyEvents = []string{EventFailure, EventPartial, EventRecovery, EventDrillFailure, EventDamagedCopy, EventSuccess}

// DefaultNotifyEvents are a notifier's events when it lists none: everything that needs
// a person, but not the routine success of every run.
var DefaultNotifyEvents = []string{EventFailure, EventPartial, EventRecovery, EventDrillFailure, EventDamagedCopy}

// Notifier sends a notification to one receiver when a run, a drill or a verification
// ends in one of its events. Delivery never changes a run's outcome: a receiver that is
// down is logged and counted (lifeboat_notifications_failed_total).
type Notifier struct {
	// Name identifies the notifier in logs and the metric's notifier label.
	Name string `json:"name"`
	// Kind is webhook (a signed JSON body to any URL) or slack (a Slack-compatible
	// incoming webhook).
	Kind    string           `json:"kind"`
	Webhook *WebhookNotifier `json:"webhook,omitempty"`
	Slack   *SlackNotifier   `json:"slack,omitempty"`
	// Events are the events this notifier receives; default DefaultNotifyEvents.
	Events []string `json:"events,omitempty"`
}

// Wants reports whether the notifier subscribes to event.
func (n *Notifier) Wants(event string) bool {
	for _, e := range n.Events {
		if e == event {
			return true
		}
	}
	return false
}

// WebhookNotifier posts the event's JSON document to URL, signed with HMAC-SHA256 under
// Secret so that the receiver can tell it came from lifeboat (docs/notifications.md).
type WebhookNotifier struct {
	URL string `json:"url"`
	// Secret is the HMAC key shared with the receiver.
	Secret Secret `json:"secret,omitzero"`
}

// SlackNotifier posts a one-line message to a Slack (or Mattermost, Rocket.Chat…)
// incoming webhook. The webhook URL embeds its own token, so it is a secret too.
type SlackNotifier struct {
	URL Secret `json:"url,omitzero"`
}
