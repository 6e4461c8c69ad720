package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler is every route of the server. See docs/serve.md for the API reference.
func (s *Server) Handler() http.Handler {
	a := s.auth()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)

	mux.HandleFunc("GET /api/v1/status", a.readOnly(s.apiStatus))
	mux.HandleFunc("GET /api/v1/runs", a.readOnly(s.apiRuns))
	mux.HandleFunc("GET /api/v1/runs/{id}", a.readOnly(s.apiRun))
	mux.HandleFunc("GET /api/v1/backups", a.readOnly(s.apiBackups))
	mux.HandleFunc("POST /api/v1/sources/{name}/backup", a.write(s.apiTrigger))
	mux.HandleFunc("POST /api/v1/backups/{id}/verify", a.write(s.apiVerify))
	mux.HandleFunc("POST /api/v1/sessions/revoke", a.write(s.apiRevokeSessions))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint or method; see docs/serve.md")
	})

	metricsHandler := promhttp.HandlerFor(s.met.Registry, promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", a.readOnly(metricsHandler.ServeHTTP))

	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /static/style.css", serveCSS)
	mux.HandleFunc("POST /ui/login", s.uiLogin)
	mux.HandleFunc("POST /ui/logout", s.logout(s.uiLogout))
	mux.HandleFunc("POST /ui/sources/{name}/backup", s.uiTrigger)
	var h http.Handler = s.failures.limitFailures(securityHeaders(mux))
	if a.token == "" {
		h = loopbackHostOnly(h) // config validation allows no token only on loopback
	}
	return s.logRequests(h)
}

func (s *Server) auth() auth {
	return auth{token: s.opts.Token, openReadOnly: s.app.Config.Server.OpenReadOnly, clock: s.clock,
		sessionKey: s.sessionKey, secureCookie: s.opts.SecureCookie, revoked: s.revoked}
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.Ready() {
		writeError(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// logRequests logs method, path and outcome; never headers (the token) or query values.
func (s *Server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.clock.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		level := slog.LevelDebug
		if r.Method != http.MethodGet || rec.code == http.StatusUnauthorized || rec.code == http.StatusTooManyRequests {
			level = slog.LevelInfo
		}
		s.log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path,
			"status", rec.code, "duration", s.clock.Now().Sub(start).Round(time.Millisecond), "remote", r.RemoteAddr)
	})
}
