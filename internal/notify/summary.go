package notify

import (
	"fmt"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// runSummary is the one line a person reads first, e.g. in Slack.
func runSummary(ev Event) string {
	var ok, failed []string
	for _, d := range ev.Destinations {
		if d.OK && d.PruneError == "" {
			ok = append(ok, d.Name)
		} else {
			failed = append(failed, d.Name)
		}
	}
	var b strings.Builder
	switch ev.Status {
	case "ok":
		fmt.Fprintf(&b, "lifeboat: backup of %s ok (%s)", ev.Source, ev.Backup)
	case "partial":
		fmt.Fprintf(&b, "lifeboat: backup of %s PARTIAL (%s)", ev.Source, ev.Backup)
	default:
		fmt.Fprintf(&b, "lifeboat: backup of %s FAILED (%s)", ev.Source, ev.Backup)
	}
	if len(ok) > 0 {
		b.WriteString("; committed to " + strings.Join(ok, ", "))
	}
	if len(failed) > 0 {
		b.WriteString("; failed on " + strings.Join(failed, ", "))
	}
	if ev.Error != "" {
		b.WriteString(": " + firstLine(ev.Error))
	}
	return b.String()
}

func recoverySummary(ev Event) string {
	return fmt.Sprintf("lifeboat: backups of %s RECOVERED: %s committed to every destination after a %s run",
		ev.Source, ev.Backup, ev.Previous)
}

func copiesSummary(source string, copies []Copy) string {
	c := copies[0]
	s := fmt.Sprintf("lifeboat: %s copy of %s in %s (%s)", strings.ToUpper(c.Problem), c.Backup, c.Destination, firstLine(c.Reason))
	if len(copies) > 1 {
		s = fmt.Sprintf("lifeboat: %d copies of %s backups need attention; first: %s copy of %s in %s (%s)",
			len(copies), source, c.Problem, c.Backup, c.Destination, firstLine(c.Reason))
	}
	return s + "; see `lifeboat verify`"
}

// addressed is the notice's event as it goes out under one event name.
func (n Notice) addressed(event string) Event {
	ev := n.Event
	ev.Event = event
	if event == config.EventRecovery {
		ev.Summary = recoverySummary(ev)
	}
	if event != config.EventRecovery {
		ev.Previous = ""
	}
	return ev
}

// firstLine keeps a joined error to its first line for one-line summaries; the full text
// is in the document's error field.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " (…)"
	}
	return s
}
