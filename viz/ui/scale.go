package ui

import (
	"math"
	"strconv"
	"strings"
)

// Scale maps data values to pixels.
type Scale interface {
	Map(v float64) float64
}

// Linear maps [D0, D1] onto [R0, R1].
type Linear struct{ D0, D1, R0, R1 float64 }

// Map implements Scale. A degenerate domain maps everything to the middle.
func (s Linear) Map(v float64) float64 {
	if s.D1 == s.D0 {
		return (s.R0 + s.R1) / 2
	}
	return s.R0 + (v-s.D0)/(s.D1-s.D0)*(s.R1-s.R0)
}

// Invert maps a pixel back to a data value.
func (s Linear) Invert(px float64) float64 {
	if s.R1 == s.R0 {
		return s.D0
	}
	return s.D0 + (px-s.R0)/(s.R1-s.R0)*(s.D1-s.D0)
}

// Log maps [D0, D1] (both > 0) onto [R0, R1] logarithmically. Values at or
// below zero map to R0: on a log axis they sit at the floor.
type Log struct{ D0, D1, R0, R1 float64 }

// Map implements Scale.
func (s Log) Map(v float64) float64 {
	if !(v > 0) || !(s.D0 > 0) || !(s.D1 > s.D0) {
		return s.R0
	}
	t := (math.Log10(v) - math.Log10(s.D0)) / (math.Log10(s.D1) - math.Log10(s.D0))
	return s.R0 + t*(s.R1-s.R0)
}

// NiceTicks returns about n round tick values covering [lo, hi] (steps of
// 1, 2 or 5 × 10^k) and the step. For a degenerate range it returns lo.
func NiceTicks(lo, hi float64, n int) ([]float64, float64) {
	if !(hi > lo) || math.IsInf(hi-lo, 0) || n < 1 {
		if math.IsNaN(lo) || math.IsInf(lo, 0) {
			return nil, 0
		}
		return []float64{lo}, 0
	}
	step := niceStep((hi - lo) / float64(n))
	var ticks []float64
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, v)
		if len(ticks) > 100 {
			break
		}
	}
	return ticks, step
}

// niceStep rounds a raw step to the nearest of 1, 2, 5 × 10^k.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; {
	case f < 1.5:
		return p
	case f < 3:
		return 2 * p
	case f < 7:
		return 5 * p
	}
	return 10 * p
}

// NiceMax rounds a chart's upper limit up to 1, 2, 2.5 or 5 × 10^k, so that
// an axis grows in visible steps instead of following every value.
func NiceMax(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if v <= f*p*(1+1e-9) {
			return f * p
		}
	}
	return 10 * p
}

// LogTicks returns the powers of ten within [lo, hi] (lo > 0); when fewer
// than two fit, the ends themselves.
func LogTicks(lo, hi float64) []float64 {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	var ticks []float64
	for e := math.Ceil(math.Log10(lo) - 1e-9); e <= math.Floor(math.Log10(hi)+1e-9); e++ {
		ticks = append(ticks, math.Pow(10, e))
	}
	if len(ticks) < 2 {
		return []float64{lo, hi}
	}
	return ticks
}

// FormatTick writes a tick value with as many decimals as its step needs.
func FormatTick(v, step float64) string {
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	if a >= 1e4 || (step >= 1000 && a >= 1000) {
		return FormatSI(v)
	}
	if a < 1e-3 {
		return FormatExp(v)
	}
	dec := 0
	if step > 0 && step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return strings.Replace(strconv.FormatFloat(v, 'f', dec, 64), "-", "−", 1)
}

// FormatSI writes large counts short: 950, 1.5k, 12k, 3.4M.
func FormatSI(v float64) string {
	a := math.Abs(v)
	sign := ""
	if v < 0 {
		sign = "−"
	}
	switch {
	case a >= 1e6:
		return sign + trimZeros(strconv.FormatFloat(a/1e6, 'f', 1, 64)) + "M"
	case a >= 1e3:
		if a >= 1e4 {
			return sign + strconv.FormatFloat(math.Round(a/1e3), 'f', 0, 64) + "k"
		}
		return sign + trimZeros(strconv.FormatFloat(a/1e3, 'f', 1, 64)) + "k"
	}
	return sign + strconv.FormatFloat(math.Round(a), 'f', 0, 64)
}

// FormatExp writes small or log-axis values as 1e-3, 2.5e-4.
func FormatExp(v float64) string {
	if v == 0 {
		return "0"
	}
	e := math.Floor(math.Log10(math.Abs(v)))
	m := v / math.Pow(10, e)
	if math.Abs(m-math.Round(m)) < 0.05 {
		m = math.Round(m)
	}
	ms := trimZeros(strconv.FormatFloat(m, 'f', 1, 64))
	if ms == "1" {
		return "1e" + strconv.Itoa(int(e))
	}
	return ms + "e" + strconv.Itoa(int(e))
}

// FormatLog writes a log-axis tick: plainly from 0.01 to 100, else as
// 1e-3, 1e4.
func FormatLog(v float64) string {
	if a := math.Abs(v); a >= 0.01 && a <= 100 {
		return FormatValue(v, 1)
	}
	return FormatExp(v)
}

// FormatValue writes a metric with about sig significant digits, or
// "NaN"/"∞" for a diverged run.
func FormatValue(v float64, sig int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "−∞"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	if a >= 1e5 || a < 1e-4 {
		return strings.Replace(strconv.FormatFloat(v, 'g', sig, 64), "-", "−", 1)
	}
	dec := max(0, sig-1-int(math.Floor(math.Log10(a))))
	return strings.Replace(strconv.FormatFloat(v, 'f', dec, 64), "-", "−", 1)
}

// FormatCount writes an integer with thousands separators: 12,345.
func FormatCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func hypot(x, y float64) float64 { return math.Sqrt(x*x + y*y) }
