package server

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/kinds"
)

//go:embed web
var webFS embed.FS

// pageRuns is how many recent runs the page shows per source.
const pageRuns = 10

type pageData struct {
	Version  string
	Now      time.Time
	Sources  []sourceView
	Flash    string
	Error    string
	TokenSet bool
	SignedIn bool
	// Refresh reloads the page every few seconds while the run this viewer started is
	// going, to show its outcome. Only then: a page that reloaded itself for every
	// scheduled run would wipe a token being typed into a form.
	Refresh    bool
	RefreshURL string
	follow     string // id of the run the viewer started (?started=) or found running (?busy=)
	followArg  string // which of the two
}

func (s *Server) templates() *template.Template {
	now := s.clock.Now
	funcs := template.FuncMap{
		"fmtTime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
		"ago":     func(t time.Time) string { return roughDuration(now().Sub(t).Round(time.Second)) },
		"duration": func(d time.Duration) string {
			return roughDuration(d)
		},
		"seconds":        func(s float64) string { return roughDuration(time.Duration(s * float64(time.Second))) },
		"bytes":          catalog.HumanSize,
		"restoreCommand": RestoreCommand,
		"fold":           fold,
		"age":            agoSeconds,
	}
	return template.Must(template.New("").Funcs(funcs).ParseFS(webFS, "web/*.html"))
}

// RestoreCommand is the `lifeboat restore` command line that restores backup id of a
// source of this kind, as the page prints it; "" for a kind restore does not take. Each
// kind names the backup with its own flag (cmd/lifeboat refuses the other one), and
// cmd/lifeboat's tests run this line through its parser.
func RestoreCommand(source, kind, id string) string {
	k, err := kinds.Get(kind)
	if err != nil {
		return ""
	}
	return "lifeboat restore " + source + " --" + k.RestoreFlag() + " " + id
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	a := s.auth()
	if !a.pageViewable(r) {
		s.render(w, http.StatusUnauthorized, "login.html", pageData{})
		return
	}
	data := pageData{}
	q := r.URL.Query()
	if id := q.Get("started"); validID(id) {
		data.Flash = "Backup " + id + " started."
		data.follow, data.followArg = id, "started"
	}
	if id := q.Get("busy"); validID(id) {
		data.Error = "A backup of this source is already running (" + id + "); nothing new was started."
		data.follow, data.followArg = id, "busy"
	}
	s.renderPage(w, r, http.StatusOK, data)
}

func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, code int, data pageData) {
	st, err := s.Status(r.Context())
	if err != nil {
		http.Error(w, "read the run history: "+err.Error(), http.StatusInternalServerError)
		return
	}
	a := s.auth()
	data.Version, data.Now, data.TokenSet = s.app.Version, s.clock.Now(), a.token != ""
	data.SignedIn = a.sessionOK(r)
	if data.Sources, err = s.sourceViews(r.Context(), st); err != nil {
		http.Error(w, "read the run history: "+err.Error(), http.StatusInternalServerError)
		return
	}
	for _, src := range st {
		if data.follow != "" && src.Running == data.follow {
			data.Refresh, data.RefreshURL = true, "/?"+data.followArg+"="+data.follow
		}
	}
	s.render(w, code, "page.html", data)
}

// render executes into a buffer first, so a template error is a clean 500 and not half
// a page.
func (s *Server) render(w http.ResponseWriter, code int, name string, data pageData) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render the web page", "template", name, "err", err)
		http.Error(w, "could not render the page (a lifeboat bug): "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	css, _ := webFS.ReadFile("web/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(css)
}

func validID(id string) bool {
	_, _, err := catalog.ParseBackupID(id)
	return id != "" && err == nil
}

func redirect(w http.ResponseWriter, r *http.Request, query url.Values, fragment string) {
	u := url.URL{Path: "/", RawQuery: query.Encode(), Fragment: fragment}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func roughDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return trimZeroUnits(d.Round(time.Second).String())
	case d < 48*time.Hour:
		return trimZeroUnits(d.Round(time.Minute).String())
	default:
		return fmt.Sprintf("%.1fd", d.Hours()/24)
	}
}

// trimZeroUnits drops the zero units time.Duration.String keeps at the end: "2h0m0s"
// reads "2h", "1h30m0s" "1h30m", "10m0s" "10m".
func trimZeroUnits(s string) string {
	rest, ok := strings.CutSuffix(s, "m0s")
	if !ok {
		return s
	}
	if hours, ok := strings.CutSuffix(rest, "h0"); ok {
		return hours + "h"
	}
	return rest + "m"
}
