package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/history"
)

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "read the run history: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, api.StatusResponse{Now: s.clock.Now(), Sources: st})
}

const maxRunsPage = 1000

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	source := r.URL.Query().Get("source")
	if source != "" {
		if _, err := s.app.Config.Source(source); err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRunsPage {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to 1000")
			return
		}
		limit = n
	}
	runs, err := s.hist.List(r.Context(), source, limit)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "read the run history: "+err.Error())
		return
	}
	if runs == nil {
		runs = []history.Run{}
	}
	writeJSON(w, http.StatusOK, api.RunsResponse{Runs: runs})
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.hist.Get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, history.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, "read the run history: "+err.Error())
	default:
		writeJSON(w, http.StatusOK, run)
	}
}

func (s *Server) apiTrigger(w http.ResponseWriter, r *http.Request) {
	var req api.TriggerRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		// Strict: a misspelt field ({"destination": [...]}) must not turn into a backup
		// to every destination.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err = dec.Decode(&req); err == nil && dec.More() {
			err = errors.New("more than one JSON value")
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "the body must be empty or JSON like {\"destinations\": [\"local\"]} "+
			"(the only field is destinations): "+err.Error())
		return
	}
	name := r.PathValue("name")
	if _, err := s.app.Config.Source(name); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	run, err := s.Trigger(name, history.TriggerAPI, req.Destinations)
	if err != nil {
		s.triggerError(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, run)
}

func (s *Server) triggerError(w http.ResponseWriter, err error) {
	var busy *BusyError
	switch {
	case errors.As(err, &busy):
		writeJSON(w, http.StatusConflict, api.Error{Error: err.Error(), RunningID: busy.RunningID})
	case errors.Is(err, ErrStopping):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, app.ErrUsage):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}
