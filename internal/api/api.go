// Package api is the JSON of `lifeboat serve`'s /api/v1: what the server writes and what
// the CLI's --server clients read, in one place so the two cannot drift apart. The
// reference is docs/serve.md.
package api

import (
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
)

// Error is every error body of the API.
type Error struct {
	Error string `json:"error"`
	// RunningID is the run that holds the source, on 409 Conflict.
	RunningID string `json:"runningID,omitempty"`
}

// StatusResponse is GET /api/v1/status.
type StatusResponse struct {
	Now     time.Time      `json:"now"`
	Sources []SourceStatus `json:"sources"`
}

// SourceStatus is the status of one source.
type SourceStatus struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Schedule string `json:"schedule,omitempty"`
	// IntervalSeconds is the time between the next two scheduled runs.
	IntervalSeconds   float64    `json:"intervalSeconds,omitempty"`
	StaleAfterSeconds float64    `json:"staleAfterSeconds,omitempty"`
	NextScheduled     *time.Time `json:"nextScheduled,omitempty"`
	Health            string     `json:"health"` // ok, stale, failing, never
	HealthReason      string     `json:"healthReason"`
	// RPOAgeSeconds is the age of the newest backup in any destination: the data an
	// operator would lose restoring now. Absent when there is no backup.
	RPOAgeSeconds *float64            `json:"rpoAgeSeconds,omitempty"`
	LatestBackup  *BackupSummary      `json:"latestBackup,omitempty"`
	LastSuccess   *history.Run        `json:"lastSuccess,omitempty"`
	LastAttempt   *history.Run        `json:"lastAttempt,omitempty"`
	Running       string              `json:"running,omitempty"` // id of the running run
	Destinations  []DestinationStatus `json:"destinations"`
}

// DestinationStatus is one destination of a source in the status, as last listed.
type DestinationStatus struct {
	Name     string         `json:"name"`
	Backups  int            `json:"backups"` // committed backups
	Damaged  []DamagedCopy  `json:"damaged,omitempty"`
	Error    string         `json:"error,omitempty"` // the destination could not be listed
	ListedAt time.Time      `json:"listedAt"`
	Latest   *BackupSummary `json:"latest,omitempty"`
}

// BackupSummary names one committed backup.
type BackupSummary struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	Finished  time.Time `json:"finished"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Encrypted bool      `json:"encrypted"`
	// Lineage, NewLineage and Suspicious are the manifest's marks (catalog.Assess).
	Lineage    string `json:"lineage,omitempty"`
	NewLineage bool   `json:"newLineage,omitempty"`
	Suspicious string `json:"suspicious,omitempty"`
}

// DamagedCopy is a copy of a backup that cannot be used (see inventory.Damaged).
type DamagedCopy struct {
	ID          string `json:"id"`
	Destination string `json:"destination"`
	Key         string `json:"key"`
	Reason      string `json:"reason"`
}

// MissingCopy is a destination that should hold a backup and does not (see
// inventory.Inventory.Missing).
type MissingCopy struct {
	ID          string `json:"id"`
	Destination string `json:"destination"`
	Reason      string `json:"reason"`
}

// RunsResponse is GET /api/v1/runs.
type RunsResponse struct {
	Runs []history.Run `json:"runs"`
}

// TriggerRequest is the optional body of POST /api/v1/sources/{name}/backup.
type TriggerRequest struct {
	// Destinations limits the run to some of the source's destinations.
	Destinations []string `json:"destinations,omitempty"`
}

// BackupsResponse is GET /api/v1/backups.
type BackupsResponse struct {
	Listings []BackupListing `json:"listings"`
}

// BackupListing is one destination's backups of one source: the committed ones newest
// first, and the damaged ones.
type BackupListing struct {
	Source      string          `json:"source"`
	Destination string          `json:"destination"`
	Backups     []BackupSummary `json:"backups"`
	Damaged     []DamagedCopy   `json:"damaged,omitempty"`
	Error       string          `json:"error,omitempty"`
	// ListedAt is when the destination was listed: serve answers from a cache that it
	// refreshes after every run and every few minutes.
	ListedAt *time.Time `json:"listedAt,omitempty"`
}

// VerifyResponse is POST /api/v1/backups/{id}/verify.
type VerifyResponse struct {
	ID     string       `json:"id"`
	OK     bool         `json:"ok"`
	Copies []VerifyCopy `json:"copies"`
	// Damaged, Missing and Unlisted make the verification not OK: a damaged copy, a
	// destination that should hold the backup and does not, one that could not be
	// searched (it may hold the only good copy).
	Damaged  []DamagedCopy `json:"damaged,omitempty"`
	Missing  []MissingCopy `json:"missing,omitempty"`
	Unlisted []string      `json:"unlisted,omitempty"`
}

// VerifyCopy is the verification of one copy of the backup.
type VerifyCopy struct {
	Destination string `json:"destination"`
	Store       string `json:"store"`
	OK          bool   `json:"ok"`
	Detail      string `json:"detail,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Summary is the summary of the backup m describes.
func Summary(m *catalog.Manifest) *BackupSummary {
	return &BackupSummary{ID: m.ID, Created: m.Created, Finished: m.Finished, Size: m.Size, SHA256: m.SHA256, Encrypted: m.Encryption != nil,
		Lineage: m.Lineage, NewLineage: m.NewLineage, Suspicious: m.Suspicious}
}

// Damaged is the wire form of damaged copies.
func Damaged(ds []inventory.Damaged) []DamagedCopy {
	var out []DamagedCopy
	for _, d := range ds {
		out = append(out, DamagedCopy{ID: d.ID, Destination: d.Destination, Key: d.Key, Reason: d.Reason()})
	}
	return out
}

// Missing is the wire form of missing copies.
func Missing(ms []inventory.Missing) []MissingCopy {
	var out []MissingCopy
	for _, m := range ms {
		out = append(out, MissingCopy(m))
	}
	return out
}

// Listings is what GET /api/v1/backups (and `lifeboat list`) shows of inventories.
func Listings(invs []*inventory.Inventory) BackupsResponse {
	resp := BackupsResponse{Listings: []BackupListing{}}
	for _, inv := range invs {
		for _, l := range inv.Listings {
			bl := BackupListing{Source: inv.Source, Destination: l.Name, Backups: []BackupSummary{}, Damaged: Damaged(l.Damaged)}
			if !inv.Now.IsZero() {
				at := inv.Now
				bl.ListedAt = &at
			}
			if l.Err != nil {
				bl.Error = l.Err.Error()
			}
			for _, b := range l.Backups {
				bl.Backups = append(bl.Backups, *Summary(b.Manifest))
			}
			resp.Listings = append(resp.Listings, bl)
		}
	}
	return resp
}

// Destination is the status of one listed destination.
func Destination(l inventory.Listing, listedAt time.Time) DestinationStatus {
	d := DestinationStatus{Name: l.Name, Backups: len(l.Backups), Damaged: Damaged(l.Damaged), ListedAt: listedAt}
	if l.Err != nil {
		d.Error = l.Err.Error()
	}
	if b := l.Newest(); b != nil {
		d.Latest = Summary(b.Manifest)
	}
	return d
}
