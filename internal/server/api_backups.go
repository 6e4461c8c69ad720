package server

import (
	"errors"
	"net/http"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// BackupsResponse is GET /api/v1/backups.
type BackupsResponse struct {
	Listings []BackupListing `json:"listings"`
}

// BackupListing is one destination's committed backups of one source, newest first.
type BackupListing struct {
	Source      string          `json:"source"`
	Destination string          `json:"destination"`
	Backups     []BackupSummary `json:"backups"`
	Problems    []string        `json:"problems,omitempty"`
	Error       string          `json:"error,omitempty"`
}

func (s *Server) apiBackups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sources := []string{q.Get("source")}
	if sources[0] == "" {
		sources = sources[:0]
		for _, src := range s.app.Config.Sources {
			sources = append(sources, src.Name)
		}
	}
	lister := appLister{s.app}
	resp := BackupsResponse{Listings: []BackupListing{}}
	for _, src := range sources {
		dests, err := s.app.DestinationNames(src, q.Get("destination"))
		if err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		for _, d := range dests {
			l := BackupListing{Source: src, Destination: d, Backups: []BackupSummary{}}
			backups, problems, err := lister.ListBackups(r.Context(), src, d)
			if err != nil {
				l.Error = err.Error()
			}
			for _, b := range backups {
				l.Backups = append(l.Backups, *summary(b.Manifest))
			}
			for _, p := range problems {
				l.Problems = append(l.Problems, p.Error())
			}
			resp.Listings = append(resp.Listings, l)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// VerifyResponse is POST /api/v1/backups/{id}/verify.
type VerifyResponse struct {
	ID     string       `json:"id"`
	OK     bool         `json:"ok"`
	Copies []VerifyCopy `json:"copies"`
	// Unlisted names the destinations that could not be searched: they may hold the only
	// good copy, so the verification is not OK while any is listed.
	Unlisted []string `json:"unlisted,omitempty"`
}

// VerifyCopy is the verification of one copy of the backup.
type VerifyCopy struct {
	Destination string `json:"destination"`
	Store       string `json:"store"`
	OK          bool   `json:"ok"`
	Detail      string `json:"detail,omitempty"`
	Error       string `json:"error,omitempty"`
}

// apiVerify re-reads every copy of a backup (or the one in ?destination=) while the
// client waits; "latest" needs ?source= when several sources are configured.
func (s *Server) apiVerify(w http.ResponseWriter, r *http.Request) {
	id, q := r.PathValue("id"), r.URL.Query()
	source, err := s.app.ResolveSource(id, q.Get("source"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := s.app.VerifyAll(r.Context(), source, id, q.Get("destination"), "")
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, app.ErrUsage):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	resp := VerifyResponse{ID: id, OK: true, Copies: []VerifyCopy{}}
	for _, e := range v.Unlisted {
		resp.Unlisted, resp.OK = append(resp.Unlisted, e.Error()), false
	}
	for _, v := range v.Copies {
		c := VerifyCopy{Destination: v.Dest.Name, Store: v.Dest.Store.String(), OK: v.Err == nil, Detail: v.Detail}
		resp.ID = v.Manifest.ID
		if v.Err != nil {
			c.Error, resp.OK = v.Err.Error(), false
		}
		resp.Copies = append(resp.Copies, c)
	}
	s.log.Info("verify requested over the API", "backup", resp.ID, "ok", resp.OK)
	writeJSON(w, http.StatusOK, resp)
}
