package chart

import (
	"math"
	"strconv"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// scale is a y axis from 0 to top (bytes or seconds), labelled in one human unit.
type scale struct {
	units    float64 // the top, in units: labels come from it, not from top/unit, which may not divide evenly
	unit     float64 // bytes or seconds per unit
	unitName string
}

// top is the axis' upper end in bytes or seconds.
func (s scale) top() float64 { return s.units * s.unit }

// label is the tick at frac of the axis (0, 0.5, 1), e.g. "2.5 MiB".
func (s scale) label(frac float64) string {
	return strconv.FormatFloat(s.units*frac, 'f', -1, 64) + " " + s.unitName
}

// Axes start at zero: a backup that shrank to a tenth must look like it, not like a dip
// on an axis that starts just below the smallest value.

// sizeScale is a byte axis in binary units (as catalog.HumanSize prints sizes), whose top
// is a round number of the unit at or above max. Nothing stored gives 0 to 1 KiB.
func sizeScale(max int64) scale {
	if max <= 0 {
		return scale{units: 1, unit: 1024, unitName: "KiB"}
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	unit, k := 1.0, 0
	for float64(max)/unit >= 1024 && k < len(units)-1 {
		unit *= 1024
		k++
	}
	return scale{units: niceCeil(float64(max) / unit), unit: unit, unitName: units[k]}
}

// durationScale is a time axis in ms, s, min, h or d, whose top is a round number of the
// unit at or above max. Runs that took no measurable time give 0 to 1 s.
func durationScale(max time.Duration) scale {
	secs := max.Seconds()
	if secs <= 0 {
		return scale{units: 1, unit: 1, unitName: "s"}
	}
	unit, name := 1.0, "s"
	switch {
	case secs < 1:
		unit, name = 0.001, "ms"
	case secs < 120:
	case secs < 120*60:
		unit, name = 60, "min"
	case secs < 48*3600:
		unit, name = 3600, "h"
	default:
		unit, name = 86400, "d"
	}
	return scale{units: niceCeil(secs / unit), unit: unit, unitName: name}
}

// niceCeil is the smallest of 1, 2, 4, 5, 8 times a power of ten at or above v (v > 0):
// their halves (the middle tick) are round too.
func niceCeil(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 5, 8, 10} {
		// The tolerance keeps 3 * 0.1 (0.30000000000000004) from rounding up a step.
		if c := m * pow; v <= c*(1+1e-9) {
			return c
		}
	}
	return 10 * pow
}

// Bytes is a size as the page prints it ("1.5 MiB").
func Bytes(n int64) string { return catalog.HumanSize(n) }

// Duration is a run's duration, rounded to what a reader can use.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
