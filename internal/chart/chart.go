// Package chart draws the web page's trend of a source's backup runs (artifact size and
// run duration over time) as inline SVG, on the server. The page has no JavaScript and
// its Content-Security-Policy allows no inline styles and no images, so the chart is
// plain SVG elements with classes that the page's stylesheet colours (presentation
// attributes keep it legible without the stylesheet).
package chart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"
)

// Point is one finished run.
type Point struct {
	ID       string // the run's id, on its markers as data-run
	At       time.Time
	Size     int64 // bytes of the stored artifact; <= 0 when nothing was committed
	Duration time.Duration
	Failed   bool // the run failed or was partial
}

// The drawing's geometry, in viewBox units. Two panels share the time axis: size on top,
// duration below, each with its own scale, so neither series is read against the other's
// axis.
const (
	width       = 640.0
	height      = 250.0
	left        = 78.0 // room for the y labels
	right       = 16.0
	panelHeight = 80.0
	sizeTop     = 22.0
	durTop      = sizeTop + panelHeight + 36.0
	axisY       = durTop + panelHeight // the time axis, under the duration panel
	markerR     = 3.5
)

// Runs renders points (in any order) as an SVG figure titled title. It never fails: an
// empty history draws the axes and says so, one run is a single centred point, and equal
// or zero values get a non-empty scale. Every text is escaped, so the result is safe to
// put into the page as is.
func Runs(title string, points []Point) template.HTML {
	pts := slices.Clone(points)
	slices.SortStableFunc(pts, func(a, b Point) int { return a.At.Compare(b.At) })

	var maxSize int64
	var maxDur time.Duration
	for _, p := range pts {
		maxSize = max(maxSize, p.Size)
		maxDur = max(maxDur, p.Duration)
	}
	sizeAxis := sizeScale(maxSize)
	durAxis := durationScale(maxDur)

	var b strings.Builder
	label := title + ": " + describe(pts)
	fmt.Fprintf(&b, `<svg class="trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="%s" data-points="%d">`,
		num(width), num(height), esc(label), len(pts))
	fmt.Fprintf(&b, "<title>%s</title>", esc(label))

	panel(&b, "size", "Size", sizeTop, sizeAxis)
	panel(&b, "duration", "Duration", durTop, durAxis)
	timeAxis(&b, pts)

	if len(pts) == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%s" y="%s" text-anchor="middle">no finished runs recorded yet</text>`,
			num((left+width-right)/2), num(sizeTop+panelHeight/2))
		b.WriteString("</svg>")
		return template.HTML(b.String())
	}

	xs := xPositions(pts)
	sizeY := func(p Point) float64 { return yFor(float64(p.Size), sizeAxis.top(), sizeTop) }
	durY := func(p Point) float64 { return yFor(p.Duration.Seconds(), durAxis.top(), durTop) }
	line(&b, "size", pts, xs, func(p Point) bool { return p.Size > 0 }, sizeY)
	line(&b, "duration", pts, xs, func(Point) bool { return true }, durY)

	for i, p := range pts {
		class := "run"
		if p.Failed {
			class += " failed"
		}
		fmt.Fprintf(&b, `<g class="%s" data-run="%s"><title>%s</title>`, class, esc(p.ID), esc(pointLabel(p)))
		if p.Size > 0 {
			fmt.Fprintf(&b, `<circle class="size" cx="%s" cy="%s" r="%s"/>`, num(xs[i]), num(sizeY(p)), num(markerR))
		}
		fmt.Fprintf(&b, `<circle class="duration" cx="%s" cy="%s" r="%s"/>`, num(xs[i]), num(durY(p)), num(markerR))
		b.WriteString("</g>")
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// panel draws one series' frame: its name, gridlines and labelled ticks at 0, half and
// the top of its scale.
func panel(b *strings.Builder, class, name string, top float64, s scale) {
	fmt.Fprintf(b, `<g class="panel %s">`, class)
	fmt.Fprintf(b, `<text class="series" x="%s" y="%s">%s</text>`, num(left), num(top-8), esc(name))
	for i, frac := range []float64{0, 0.5, 1} {
		y := top + panelHeight*(1-frac)
		cls, stroke := "grid", "#e6eaee"
		if i == 0 {
			cls, stroke = "axis", "#8c959f"
		}
		fmt.Fprintf(b, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, cls, num(left), num(y), num(width-right), num(y), stroke)
		fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>`, num(left-6), num(y+4), esc(s.label(frac)))
	}
	b.WriteString("</g>")
}

// timeAxis labels the first and last run's start (UTC) under the lower panel.
func timeAxis(b *strings.Builder, pts []Point) {
	b.WriteString(`<g class="time">`)
	if len(pts) > 0 {
		first, last := pts[0].At.UTC(), pts[len(pts)-1].At.UTC()
		layout := "2006-01-02 15:04"
		if last.Sub(first) < 10*time.Minute {
			layout = "2006-01-02 15:04:05" // runs minutes apart would all read the same
		}
		y := axisY + 18
		if first.Equal(last) {
			fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" text-anchor="middle">%s UTC</text>`, num((left+width-right)/2), num(y), esc(first.Format(layout)))
		} else {
			fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" text-anchor="start">%s UTC</text>`, num(left), num(y), esc(first.Format(layout)))
			fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" text-anchor="end">%s UTC</text>`, num(width-right), num(y), esc(last.Format(layout)))
		}
	}
	b.WriteString("</g>")
}

// line joins the points that have a value with a polyline; fewer than two draw none.
func line(b *strings.Builder, class string, pts []Point, xs []float64, has func(Point) bool, y func(Point) float64) {
	var coords []string
	for i, p := range pts {
		if has(p) {
			coords = append(coords, num(xs[i])+","+num(y(p)))
		}
	}
	if len(coords) < 2 {
		return
	}
	fmt.Fprintf(b, `<polyline class="line %s" points="%s" fill="none" stroke="currentColor"/>`, class, strings.Join(coords, " "))
}

// xPositions places runs by their start time; when every run started at the same moment
// (or there is one) they sit in the middle.
func xPositions(pts []Point) []float64 {
	xs := make([]float64, len(pts))
	first, last := unix(pts[0].At), unix(pts[len(pts)-1].At)
	span := last - first
	for i, p := range pts {
		if !(span > 0) || math.IsInf(span, 0) {
			xs[i] = (left + width - right) / 2
			continue
		}
		xs[i] = left + (width-left-right)*(unix(p.At)-first)/span
	}
	return xs
}

// unix is t in seconds as a float64, so that spans between any two times fit (a
// time.Duration saturates beyond 292 years).
func unix(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// yFor maps v in [0, top] onto a panel whose upper edge is at panelTop.
func yFor(v, top, panelTop float64) float64 {
	frac := 0.0
	if top > 0 {
		frac = min(max(v/top, 0), 1)
	}
	return panelTop + panelHeight*(1-frac)
}

func describe(pts []Point) string {
	if len(pts) == 0 {
		return "no finished runs"
	}
	var sized []int64
	durs := make([]time.Duration, 0, len(pts))
	failed := 0
	for _, p := range pts {
		if p.Size > 0 {
			sized = append(sized, p.Size)
		}
		durs = append(durs, p.Duration)
		if p.Failed {
			failed++
		}
	}
	s := fmt.Sprintf("%d %s", len(pts), plural(len(pts), "run", "runs"))
	if failed > 0 {
		s += fmt.Sprintf(" (%d failed or partial)", failed)
	}
	if len(sized) > 0 {
		s += fmt.Sprintf("; size from %s to %s", Bytes(slices.Min(sized)), Bytes(slices.Max(sized)))
	}
	s += fmt.Sprintf("; duration from %s to %s", Duration(slices.Min(durs)), Duration(slices.Max(durs)))
	return s
}

func pointLabel(p Point) string {
	status := "ok"
	if p.Failed {
		status = "failed or partial"
	}
	size := "nothing stored"
	if p.Size > 0 {
		size = Bytes(p.Size)
	}
	return fmt.Sprintf("%s · %s · %s UTC · %s · %s", p.ID, status, p.At.UTC().Format("2006-01-02 15:04:05"), size, Duration(p.Duration))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// num prints a coordinate with one decimal: enough for a 640-unit drawing, and stable
// for the golden files.
func num(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0 // never reached by construction; a NaN in an attribute would drop the element
	}
	return fmt.Sprintf("%.1f", f)
}

func esc(s string) string { return html.EscapeString(s) }
