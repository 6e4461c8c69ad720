package chart

import (
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.svg from the current renderer")

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestScales(t *testing.T) {
	for _, c := range []struct {
		name       string
		s          scale
		top        float64
		half, full string
	}{
		{"no size", sizeScale(0), 1024, "0.5 KiB", "1 KiB"},
		{"bytes", sizeScale(700), 800, "400 B", "800 B"},
		{"hundreds of bytes", sizeScale(900), 1000, "500 B", "1000 B"},
		{"exactly 1 MiB", sizeScale(1 << 20), 1 << 20, "0.5 MiB", "1 MiB"},
		{"just over 1 MiB", sizeScale(1<<20 + 1), 2 << 20, "1 MiB", "2 MiB"},
		{"3.3 GiB", sizeScale(3_543_348_019), 4 << 30, "2 GiB", "4 GiB"},
		{"largest size", sizeScale(1<<63 - 1), 8 << 60, "4 EiB", "8 EiB"},
		{"zero duration", durationScale(0), 1, "0.5 s", "1 s"},
		{"milliseconds", durationScale(420 * time.Millisecond), 0.5, "250 ms", "500 ms"},
		{"seconds", durationScale(13 * time.Second), 20, "10 s", "20 s"},
		{"just under two minutes", durationScale(119 * time.Second), 200, "100 s", "200 s"},
		{"minutes", durationScale(7 * time.Minute), 8 * 60, "4 min", "8 min"},
		{"hours", durationScale(3 * time.Hour), 4 * 3600, "2 h", "4 h"},
		{"days", durationScale(100 * time.Hour), 5 * 86400, "2.5 d", "5 d"},
		{"one nanosecond", durationScale(time.Nanosecond), 1e-9, "0.0000005 ms", "0.000001 ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.top(); got != c.top && (got-c.top)/c.top > 1e-9 {
				t.Errorf("top = %v, want %v", got, c.top)
			}
			if got := c.s.label(0.5); got != c.half {
				t.Errorf("middle tick %q, want %q", got, c.half)
			}
			if got := c.s.label(1); got != c.full {
				t.Errorf("top tick %q, want %q", got, c.full)
			}
			if got := c.s.label(0); !strings.HasPrefix(got, "0 ") {
				t.Errorf("bottom tick %q, want 0", got)
			}
		})
	}
}

func TestNiceCeil(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{1, 1}, {1.01, 2}, {2, 2}, {3, 4}, {0.3, 0.4}, {3 * 0.1, 0.4}, {4.5, 5}, {5.01, 8}, {8.01, 10},
		{999, 1000}, {1023, 2000}, {0.0007, 0.001}, {0, 1}, {-3, 1},
	} {
		if got := niceCeil(c.in); got != c.want && (got-c.want)/c.want > 1e-12 {
			t.Errorf("niceCeil(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// cases are the histories the golden files fix: the geometry of each is checked by eye
// once (open testdata/*.svg in a browser) and then pinned.
var cases = []struct {
	name   string
	points []Point
}{
	{"empty", nil},
	{"single", []Point{{ID: "vault-20261123T100000Z-aaaa", At: t0, Size: 3 << 20, Duration: 1500 * time.Millisecond}}},
	{"equal-sizes-zero-durations", []Point{
		{ID: "vault-20261123T100000Z-aaaa", At: t0, Size: 4096},
		{ID: "vault-20261123T110000Z-bbbb", At: t0.Add(time.Hour), Size: 4096},
		{ID: "vault-20261123T120000Z-cccc", At: t0.Add(2 * time.Hour), Size: 4096},
	}},
	{"trend-with-failure", []Point{ // given newest first, as the history lists them
		{ID: "vault-20261123T130000Z-dddd", At: t0.Add(3 * time.Hour), Size: 350 << 20, Duration: 95 * time.Second},
		{ID: "vault-20261123T120000Z-cccc", At: t0.Add(2 * time.Hour), Duration: 4 * time.Second, Failed: true},
		{ID: "vault-20261123T110000Z-bbbb", At: t0.Add(time.Hour), Size: 300 << 20, Duration: 80 * time.Second},
		{ID: "vault-20261123T100000Z-aaaa", At: t0, Size: 280 << 20, Duration: 75 * time.Second},
	}},
	{"same-instant", []Point{
		{ID: "a-20261123T100000Z-aaaa", At: t0, Size: 10, Duration: time.Millisecond},
		{ID: "a-20261123T100000Z-bbbb", At: t0, Size: 20, Duration: 2 * time.Millisecond},
	}},
}

func TestRunsGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(Runs("Backups of vault", c.points))
			checkSVG(t, got, c.points)
			path := filepath.Join("testdata", c.name+".svg")
			if *update {
				if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/chart -update to write it)", err)
			}
			if got+"\n" != string(want) {
				t.Errorf("%s differs from the rendering (run with -update if the change is meant):\n%s", path, got)
			}
		})
	}
}

// One run each: the markers sit in the middle, the size marker at its value's place on
// a scale with room above it.
func TestSinglePointIsCentred(t *testing.T) {
	svg := string(Runs("x", cases[1].points))
	mid := num((left + width - right) / 2)
	if !strings.Contains(svg, `<circle class="size" cx="`+mid+`"`) || !strings.Contains(svg, `<circle class="duration" cx="`+mid+`"`) {
		t.Fatalf("a single run is not centred at x=%s:\n%s", mid, svg)
	}
	// 3 MiB on a 0..4 MiB axis: a quarter below the panel's top.
	if want := `cy="` + num(sizeTop+panelHeight/4) + `"`; !strings.Contains(svg, want) {
		t.Fatalf("3 MiB not at %s:\n%s", want, svg)
	}
	if strings.Contains(svg, "<polyline") {
		t.Fatal("a line through one point")
	}
}

func TestTextIsEscaped(t *testing.T) {
	svg := string(Runs(`<script>"x"</script>`, []Point{{ID: `a"><script>`, At: t0}}))
	if strings.Contains(svg, "<script>") {
		t.Fatalf("unescaped text:\n%s", svg)
	}
	checkSVG(t, svg, []Point{{ID: `a"><script>`, At: t0}})
}

// FuzzRuns: any history renders as well-formed SVG, with one group per run, every
// coordinate a finite number inside the drawing.
func FuzzRuns(f *testing.F) {
	f.Add(int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), false)
	f.Add(int64(1700000000), int64(1<<20), int64(1e9), int64(1700003600), int64(1<<21), int64(0), true)
	f.Add(int64(-1<<62), int64(1<<62), int64(1<<62), int64(1<<62), int64(-5), int64(-1), false)
	f.Fuzz(func(t *testing.T, at1, size1, dur1, at2, size2, dur2 int64, failed bool) {
		pts := []Point{
			{ID: "s-1", At: time.Unix(at1, 0), Size: size1, Duration: time.Duration(dur1)},
			{ID: "s-2", At: time.Unix(at2, 0), Size: size2, Duration: time.Duration(dur2), Failed: failed},
		}
		checkSVG(t, string(Runs("fuzz", pts)), pts)
	})
}

var coordAttr = regexp.MustCompile(`\b(?:x|y|x1|y1|x2|y2|cx|cy|r)="([^"]*)"`)

// checkSVG parses svg as XML and checks its invariants.
func checkSVG(t testing.TB, svg string, pts []Point) {
	t.Helper()
	for _, bad := range []string{"NaN", "Inf"} {
		if strings.Contains(svg, bad) {
			t.Fatalf("%s in the chart:\n%s", bad, svg)
		}
	}
	dec := xml.NewDecoder(strings.NewReader(svg))
	groups, titles := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "g":
				for _, a := range se.Attr {
					if a.Name.Local == "data-run" {
						groups++
					}
				}
			case "title":
				titles++
			}
		}
	}
	if groups != len(pts) {
		t.Fatalf("%d run groups for %d runs:\n%s", groups, len(pts), svg)
	}
	if titles != len(pts)+1 {
		t.Fatalf("%d titles, want the chart's and one per run:\n%s", titles, svg)
	}
	if !strings.Contains(svg, `role="img" aria-label="`) {
		t.Fatalf("no accessible name:\n%s", svg)
	}
	for _, m := range coordAttr.FindAllStringSubmatch(svg, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil || v < 0 || v > width {
			t.Fatalf("coordinate %s out of the drawing (%v):\n%s", m[0], err, svg)
		}
	}
	for _, m := range regexp.MustCompile(` points="([^"]*)"`).FindAllStringSubmatch(svg, -1) {
		for _, xy := range strings.Fields(m[1]) {
			x, y, _ := strings.Cut(xy, ",")
			for _, s := range []string{x, y} {
				if v, err := strconv.ParseFloat(s, 64); err != nil || v < 0 || v > width {
					t.Fatalf("polyline point %s out of the drawing:\n%s", xy, svg)
				}
			}
		}
	}
}
