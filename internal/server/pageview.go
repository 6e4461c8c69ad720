package server

import (
	"context"
	"html/template"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/chart"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// chartRuns is how many recent runs the page's trend chart draws per source: enough to
// see a trend, few enough that every point stays apart on the page.
const chartRuns = 50

type sourceView struct {
	api.SourceStatus
	Runs []history.Run // the pageRuns newest, running ones included
	// Late: the newest backup is older than health.go's StaleAfter for the schedule, the
	// same limit that makes a source "stale" (shown even when the health is worse).
	Late          bool
	Drill         *drillView
	DrillSchedule string // sources[].drill.schedule, empty for on demand only
	HasDrill      bool   // the source has a drill block
	Chart         template.HTML
	ChartRuns     int // how many runs the chart draws
}

// sourceViews is what the page shows of each source, in the config's order.
func (s *Server) sourceViews(ctx context.Context, st []api.SourceStatus) ([]sourceView, error) {
	out := make([]sourceView, 0, len(st))
	for _, src := range st {
		runs, err := s.hist.List(ctx, src.Name, max(pageRuns, chartRuns))
		if err != nil {
			return nil, err
		}
		v := sourceView{SourceStatus: src, Late: late(src), Drill: s.latestDrill(ctx, src.Name)}
		v.Runs = runs[:min(len(runs), pageRuns)]
		if c, err := s.app.Config.Source(src.Name); err == nil && c.Drill != nil {
			v.HasDrill, v.DrillSchedule = true, c.Drill.Schedule
		}
		pts := chartPoints(runs)
		v.Chart, v.ChartRuns = chart.Runs("Backups of "+src.Name, pts), len(pts)
		out = append(out, v)
	}
	return out, nil
}

// late is health.go's staleness rule applied to the newest backup of any destination
// (Health itself may report something worse first, or a lagging destination).
func late(st api.SourceStatus) bool {
	if st.Health == HealthStale {
		return true
	}
	return st.StaleAfterSeconds > 0 && st.RPOAgeSeconds != nil && *st.RPOAgeSeconds > st.StaleAfterSeconds
}

// chartPoints are the finished runs among runs (newest first, as the history lists them).
func chartPoints(runs []history.Run) []chart.Point {
	var pts []chart.Point
	for _, r := range runs {
		if r.Running() {
			continue
		}
		pts = append(pts, chart.Point{ID: r.ID, At: r.Started, Size: r.Size, Duration: r.Duration(),
			Failed: r.Status != string(pipeline.StatusOK)})
	}
	return pts
}

// folded is a long or multi-line error as the page shows it: its first line in a
// <summary>, the whole text in the <details> under it.
type folded struct {
	Summary string
	Full    string
	Folded  bool
}

// foldAt is how long a one-line error may be before it is folded too.
const foldAt = 160

func fold(s string) folded {
	s = strings.TrimSpace(s)
	first, _, multi := strings.Cut(s, "\n")
	first = strings.TrimSpace(first)
	if !multi && utf8.RuneCountInString(s) <= foldAt {
		return folded{Summary: s, Full: s}
	}
	if utf8.RuneCountInString(first) > foldAt-40 {
		r := []rune(first)
		first = string(r[:foldAt-40]) + "…"
	}
	return folded{Summary: first, Full: s, Folded: true}
}

// agoSeconds is an age in seconds as the page prints ages.
func agoSeconds(secs float64) string {
	return roughDuration(time.Duration(secs * float64(time.Second)).Round(time.Second))
}
