package server

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/lifeboat-backup/lifeboat/internal/history"
)

// maxForm bounds what the page's forms may post.
const maxForm = 16 << 10

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	a := s.auth()
	if !a.tokenOK(r.PostFormValue("token")) {
		s.log.Info("web sign-in refused: wrong token", "remote", r.RemoteAddr)
		s.render(w, http.StatusUnauthorized, "login.html", pageData{Error: "Wrong token."})
		return
	}
	http.SetCookie(w, a.newSession(r))
	redirect(w, r, nil, "")
}

func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.auth().endSession(r))
	redirect(w, r, nil, "")
}

// uiTrigger is the page's "Back up now": a plain form post that carries the token in a
// password field, so it works without JavaScript and a forged cross-site post (which
// cannot know the token) does nothing.
func (s *Server) uiTrigger(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	a := s.auth()
	name := r.PathValue("name")
	switch {
	case a.token == "":
		s.renderPage(w, r, http.StatusForbidden, pageData{Error: "Back up now is disabled: server.token is not configured."})
		return
	case !a.tokenOK(r.PostFormValue("token")):
		s.log.Info("web backup refused: wrong token", "source", name, "remote", r.RemoteAddr)
		if !a.pageViewable(r) {
			s.render(w, http.StatusUnauthorized, "login.html", pageData{Error: "Wrong token: no backup was started."})
			return
		}
		s.renderPage(w, r, http.StatusUnauthorized, pageData{Error: "Wrong token: no backup of " + name + " was started."})
		return
	}
	// The token is proven: keep the page viewable after the redirect.
	http.SetCookie(w, a.newSession(r))
	if _, err := s.app.Config.Source(name); err != nil {
		s.renderPage(w, r, http.StatusNotFound, pageData{Error: err.Error()})
		return
	}
	run, err := s.Trigger(name, history.TriggerAPI, nil)
	var busy *BusyError
	switch {
	case errors.As(err, &busy):
		redirect(w, r, url.Values{"busy": {busy.RunningID}}, "source-"+name)
	case err != nil:
		s.renderPage(w, r, http.StatusServiceUnavailable, pageData{Error: err.Error()})
	default:
		redirect(w, r, url.Values{"started": {run.ID}}, "source-"+name)
	}
}
