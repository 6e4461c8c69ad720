package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// BusyError is returned by Trigger while the source already has a run: two runs of one
// source would read it twice and race each other's retention.
type BusyError struct{ Source, RunningID string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("a backup of %s is already running (%s); wait for it to finish", e.Source, e.RunningID)
}

// ErrStopping is returned by Trigger once the server is shutting down.
var ErrStopping = errors.New("lifeboat serve is shutting down and starts no new backups")

// Trigger starts a backup of source in the background and returns its run record (status
// "running"); the run's id is the id of the backup it writes. only limits the run to some
// of the source's destinations.
func (s *Server) Trigger(source string, trigger history.Trigger, only []string) (history.Run, error) {
	dests, err := s.checkRequest(source, only)
	if err != nil {
		return history.Run{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return history.Run{}, ErrStopping
	}
	if id, ok := s.running[source]; ok {
		return history.Run{}, &BusyError{Source: source, RunningID: id}
	}
	now := s.clock.Now()
	r := history.Run{ID: catalog.NewBackupID(source, now), Source: source, Trigger: trigger, Started: now, Status: history.StatusRunning}
	// Named now, so that if this process dies mid-run the next start can mark each of
	// them interrupted and count the failure against it.
	for _, d := range dests {
		r.Destinations = append(r.Destinations, history.Destination{Name: d})
	}
	// A run whose start cannot be recorded still runs: the backup matters more than its
	// record, and its outcome is written (or logged) when it ends.
	if err := s.hist.Put(s.runCtx, r); err != nil {
		s.log.Error("could not record the start of a run in the history", "run", r.ID, "err", err)
	}
	s.running[source] = r.ID
	s.runs.Add(1)
	go s.execute(r, only)
	s.log.Info("backup run started", "source", source, "run", r.ID, "trigger", trigger)
	return r, nil
}

// Running returns the id of source's running run, if any.
func (s *Server) Running(source string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.running[source]
	return id, ok
}

// checkRequest returns the destinations the run goes to: only, when every name in it is
// one of the source's destinations, or all of them.
func (s *Server) checkRequest(source string, only []string) ([]string, error) {
	names, err := s.app.DestinationNames(source, "")
	if err != nil {
		return nil, err
	}
	for _, d := range only {
		if !slices.Contains(names, d) {
			return nil, fmt.Errorf("%w: source %s does not go to destination %q (its destinations: %v)", app.ErrUsage, source, d, names)
		}
	}
	if len(only) > 0 {
		return only, nil
	}
	return names, nil
}

func (s *Server) execute(r history.Run, only []string) {
	defer s.runs.Done()
	res, err := s.opts.Backup(s.runCtx, r.Source, only, r.ID)
	done := r
	switch {
	case err != nil:
		done.Status, done.Error, done.Finished = string(pipeline.StatusFailed), err.Error(), s.clock.Now()
		done.Destinations = notAttempted(r.Destinations)
	case res == nil:
		done.Status, done.Error, done.Finished = string(pipeline.StatusFailed), "the backup returned no result (a lifeboat bug)", s.clock.Now()
		done.Destinations = notAttempted(r.Destinations)
	default:
		done = history.FromResult(res, r.Trigger)
		done.ID = r.ID // the pipeline used it; make sure the record matches the trigger's answer
	}
	if err != nil {
		s.log.Error("backup run could not start", "source", r.Source, "run", r.ID, "err", err)
	}
	// Re-list before the run shows as finished, so whoever waited for it sees its backup
	// in the status, the page and lifeboat_backups_stored.
	if s.runCtx.Err() == nil {
		lctx, cancel := context.WithTimeout(s.runCtx, refreshTimeout)
		s.refresh(lctx, r.Source)
		cancel()
	}
	// Recording must not depend on runCtx: a run cancelled at shutdown is still recorded.
	ctx := context.WithoutCancel(s.runCtx)
	previous := s.previousStatus(ctx, r.Source, r.ID)
	if err := s.hist.Put(ctx, done); err != nil {
		s.log.Error("could not record a finished run in the history", "run", done.ID, "status", done.Status, "err", err)
	}
	s.met.Observe(done)
	s.mu.Lock()
	delete(s.running, r.Source)
	s.mu.Unlock()
	s.notifyRun(done, previous)
}

// refreshTimeout bounds the listing after a run, which holds the run open.
const refreshTimeout = 2 * time.Minute

// notAttempted marks every destination of a run that never started as failed.
func notAttempted(ds []history.Destination) []history.Destination {
	out := make([]history.Destination, len(ds))
	for i, d := range ds {
		out[i] = history.Destination{Name: d.Name, Error: "not attempted: the run could not start"}
	}
	return out
}
