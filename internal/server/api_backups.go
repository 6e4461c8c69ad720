package server

import (
	"errors"
	"net/http"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// apiBackups answers from the cached inventories (listings.go: re-listed after every run
// and every RefreshEvery), so a request costs no walk of every destination; each listing
// carries listedAt, its age. ?fresh=true lists live, for token holders only: a walk of
// every bucket per request is what the cache keeps anonymous readers from causing.
func (s *Server) apiBackups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	only := q.Get("destination")
	sources := []string{q.Get("source")}
	if sources[0] == "" {
		sources = s.app.SourceNames()
	}
	for _, src := range sources { // an unknown name is a 404 either way, without listing
		if _, err := s.app.DestinationNames(src, only); err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
	}
	fresh := q.Get("fresh") == "true" || q.Get("fresh") == "1"
	if fresh && s.opts.Token != "" && !s.auth().tokenOK(bearer(r)) {
		writeError(w, http.StatusForbidden, "?fresh=true lists every destination live and needs the bearer token; "+
			"without it the listing comes from the cache (see listedAt)")
		return
	}
	var invs []*inventory.Inventory
	for _, src := range sources {
		inv := s.inv.get(src)
		if inv == nil || fresh {
			var err error
			if inv, err = inventory.Take(r.Context(), s.app, src, "", s.clock.Now()); err != nil {
				writeError(w, http.StatusNotFound, err.Error())
				return
			}
			if r.Context().Err() == nil {
				s.inv.set(inv)
			}
		}
		invs = append(invs, onlyDestination(inv, only))
	}
	writeJSON(w, http.StatusOK, api.Listings(invs))
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
	resp := api.VerifyResponse{ID: v.ID, OK: v.OK(), Copies: []api.VerifyCopy{},
		Damaged: api.Damaged(v.Damaged), Missing: api.Missing(v.Missing)}
	for _, e := range v.Unlisted {
		resp.Unlisted = append(resp.Unlisted, e.Error())
	}
	for _, v := range v.Copies {
		c := api.VerifyCopy{Destination: v.Dest.Name, Store: v.Dest.Store.String(), OK: v.Err == nil, Detail: v.Detail}
		if v.Err != nil {
			c.Error = v.Err.Error()
		}
		resp.Copies = append(resp.Copies, c)
	}
	s.log.Info("verify requested over the API", "backup", resp.ID, "ok", resp.OK)
	if !resp.OK && s.notify != nil {
		s.runs.Add(1)
		go func() {
			defer s.runs.Done()
			s.app.NotifyVerify(s.runCtx, s.notify, source, v)
		}()
	}
	writeJSON(w, http.StatusOK, resp)
}
