// Package notify tells people when a backup run, a drill or a verification needs them:
// it builds the event (a versioned JSON document, docs/notifications.md) and delivers it
// to each configured notifier that subscribes to it, retried with backoff for a bounded
// time. Delivery never fails or delays the work it reports on beyond that bound: an
// undelivered notification is logged (never with a receiver's URL or secret) and
// counted, and the run's outcome stays what it was.
package notify

import (
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
)

// Version is the version of the Event document; it changes only when a field changes
// meaning or goes away (new fields may appear in any version).
const Version = 1

// Event is the JSON document a webhook receives (and the text a Slack message is made
// from). Fields that do not apply to an event are left out.
type Event struct {
	Version int `json:"version"`
	// ID is unique per notification and the same in each retry of it: a receiver that
	// got it twice drops the second.
	ID string `json:"id"`
	// Event is one of config.NotifyEvents.
	Event  string `json:"event"`
	Source string `json:"source"`
	// Backup is the id of the backup a run wrote (a run is named after its backup), the
	// backup a drill restored, or the backup a verification read.
	Backup string `json:"backup,omitempty"`
	// Status is a run's status (ok, partial, failed), or a drill's (ok, failed).
	Status string `json:"status,omitempty"`
	// Previous is the status of the source's run before this one, for recovery.
	Previous string `json:"previous,omitempty"`
	// Trigger says what started a run: schedule, api, baseline or cli.
	Trigger      string        `json:"trigger,omitempty"`
	Destinations []Destination `json:"destinations,omitempty"`
	// Copies are the damaged or missing copies, for damaged-copy.
	Copies []Copy `json:"copies,omitempty"`
	// Error is every failure, joined, as the run or drill reported it.
	Error string `json:"error,omitempty"`
	// Summary is one line for people (the Slack message).
	Summary string    `json:"summary"`
	Time    time.Time `json:"time"`
	// Host is the machine (the pod) that sent the notification.
	Host string `json:"host"`
}

// Destination is how one destination fared in a run.
type Destination struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// PruneError says retention failed after the backup was committed.
	PruneError string `json:"pruneError,omitempty"`
}

// Copy is one damaged, missing or unverifiable copy of a backup.
type Copy struct {
	Backup      string `json:"backup"`
	Destination string `json:"destination"`
	// Problem is damaged (unreadable manifest, data missing or of another size),
	// missing (a destination that should hold the backup does not) or failed (the copy
	// did not verify: checksum, decryption or the artifact's own checks).
	Problem string `json:"problem"`
	Reason  string `json:"reason"`
}

// Copy problems.
const (
	ProblemDamaged = "damaged"
	ProblemMissing = "missing"
	ProblemFailed  = "failed"
)

// Notice is an event before it is addressed: the event names it may go out as, most
// specific first. Each notifier gets it once, as the first of them it subscribes to (an
// ok run after a failure is "recovery" for a notifier that wants recoveries and
// "success" for one that only wants successes).
type Notice struct {
	Events []string
	Event  Event
}

// ForRun is the notice of a finished backup run; previous is the status of the source's
// run before it ("" when unknown, see Previous).
func ForRun(r history.Run, previous string) Notice {
	ev := Event{Source: r.Source, Backup: r.ID, Status: r.Status, Trigger: string(r.Trigger), Error: r.Error}
	for _, d := range r.Destinations {
		ev.Destinations = append(ev.Destinations, Destination{Name: d.Name, OK: d.OK, Error: d.Error, PruneError: d.PruneError})
	}
	var events []string
	switch r.Status {
	case "ok":
		if previous == "failed" || previous == "partial" {
			ev.Previous = previous
			events = append(events, config.EventRecovery)
		}
		events = append(events, config.EventSuccess)
	case "partial":
		events = []string{config.EventPartial}
	default:
		events = []string{config.EventFailure}
	}
	ev.Summary = runSummary(ev)
	return Notice{Events: events, Event: ev}
}

// ForDrill is the notice of a drill; only a failed drill is news.
func ForDrill(source, backup, from string, err error) Notice {
	if err == nil {
		return Notice{}
	}
	ev := Event{Source: source, Backup: backup, Status: "failed", Error: err.Error()}
	if from != "" {
		ev.Destinations = []Destination{{Name: from, OK: false, Error: err.Error()}}
	}
	ev.Summary = "lifeboat: restore drill of " + source + " FAILED"
	if backup != "" {
		ev.Summary += " (" + backup + ")"
	}
	ev.Summary += ": " + err.Error()
	return Notice{Events: []string{config.EventDrillFailure}, Event: ev}
}

// ForCopies is the notice of damaged, missing or unverifiable copies of source's
// backups; none is no notice.
func ForCopies(source string, copies []Copy) Notice {
	if len(copies) == 0 {
		return Notice{}
	}
	ev := Event{Source: source, Copies: copies}
	if len(copies) == 1 {
		ev.Backup = copies[0].Backup
	}
	ev.Summary = copiesSummary(source, copies)
	return Notice{Events: []string{config.EventDamagedCopy}, Event: ev}
}

// DamagedCopies converts an inventory's damaged copies.
func DamagedCopies(ds []inventory.Damaged) []Copy {
	var out []Copy
	for _, d := range ds {
		out = append(out, Copy{Backup: d.ID, Destination: d.Destination, Problem: ProblemDamaged, Reason: d.Reason()})
	}
	return out
}

// MissingCopies converts an inventory's missing copies.
func MissingCopies(ms []inventory.Missing) []Copy {
	var out []Copy
	for _, m := range ms {
		out = append(out, Copy{Backup: m.ID, Destination: m.Destination, Problem: ProblemMissing, Reason: m.Reason})
	}
	return out
}
