package config

import (
	"slices"
	"strings"
)

// setNotifyDefaults gives a notifier that lists no events the default ones.
func setNotifyDefaults(ns []Notifier) {
	for i := range ns {
		if ns[i].Events == nil {
			ns[i].Events = slices.Clone(DefaultNotifyEvents)
		}
	}
}

func validateNotifications(p *problems, path string, ns []Notifier) {
	seen := map[string]bool{}
	for i := range ns {
		np := index(path, i)
		n := &ns[i]
		checkName(p, np, n.Name, seen, "notifier")
		checkKind(p, np, n.Kind, []string{NotifierWebhook, NotifierSlack},
			map[string]bool{NotifierWebhook: n.Webhook != nil, NotifierSlack: n.Slack != nil})
		if w := n.Webhook; w != nil && n.Kind == NotifierWebhook {
			if w.URL == "" {
				p.add(field(np, "webhook.url"), "required")
			} else {
				checkURL(p, field(np, "webhook.url"), w.URL)
			}
			// An unsigned webhook would let anyone who finds the URL post "recovery".
			validateSecret(p, field(np, "webhook.secret"), w.Secret, true)
		}
		if s := n.Slack; s != nil && n.Kind == NotifierSlack {
			validateSecret(p, field(np, "slack.url"), s.URL, true)
		}
		if n.Events != nil && len(n.Events) == 0 {
			p.add(field(np, "events"), "empty: list at least one of %s, or leave events out for the default (%s)",
				strings.Join(NotifyEvents, ", "), strings.Join(DefaultNotifyEvents, ", "))
		}
		dup := map[string]bool{}
		for j, e := range n.Events {
			ep := index(field(np, "events"), j)
			switch {
			case !slices.Contains(NotifyEvents, e):
				p.add(ep, "must be one of %s (got %q)", strings.Join(NotifyEvents, ", "), e)
			case dup[e]:
				p.add(ep, "duplicate event %q", e)
			}
			dup[e] = true
		}
	}
}
