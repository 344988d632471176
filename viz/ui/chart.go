package ui

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
)

// chart is one small plot: title, latest value, axes, lines, bars and
// reference lines.
type chart struct {
	title, value string
	short        string // the title when the long one does not fit
	valueCol     color.RGBA
	x0, x1       float64
	y0, y1       float64
	logY         bool
	xLabel       string
	lines        []chartLine
	bars         []float64 // at x = 0, 1, …, len-1 (x0, x1 set to match)
	refs         []refLine
	legend       []chartLine // name + colour only
	empty        string      // shown when there is nothing to draw
}

type chartLine struct {
	name   string
	colour color.RGBA
	pts    [][2]float64
	dots   bool
}

type refLine struct {
	y      float64
	colour color.RGBA
	label  string
}

// charts draws the six small plots of a run in a rows×cols grid.
func (b *builder) charts(r *Run, area Rect, rows, cols int) {
	cells := area.Grid(rows, cols, b.px(8))
	d := r.Dim()
	healthy, line := HealthyStd(d), CollapseLine(d)
	refs := []refLine{{healthy, colGood, "1/√d healthy"}, {line, colBad, "collapse"}}
	buckets := int(cells[0].W / b.s / 2)

	// 1. singular values, log scale
	sv := chart{title: "singular values", short: "sing. values", xLabel: "component (log–log)", logY: true, empty: "no snapshot yet"}
	if s := r.Snap; s != nil && len(s.Spectrum) > 0 {
		pts := make([][2]float64, 0, len(s.Spectrum))
		hi, lo := 0.0, math.Inf(1)
		for i, v := range s.Spectrum {
			pts = append(pts, [2]float64{float64(i + 1), float64(v)})
			if f := float64(v); f > 0 && finite(f) {
				hi, lo = max(hi, f), min(lo, f)
			}
		}
		if hi > 0 {
			sv.y1 = math.Pow(10, math.Ceil(math.Log10(hi)))
			sv.y0 = math.Max(math.Pow(10, math.Floor(math.Log10(lo))), sv.y1*1e-6)
			sv.x0, sv.x1 = 1, float64(len(s.Spectrum))
			sv.lines = []chartLine{{colour: colAccent, pts: pts, dots: len(pts) <= 80}}
		}
	}
	b.chart(cells[0], sv)

	// 2. std per dimension, sorted
	sd := chart{title: "std per dimension", short: "std per dim.", xLabel: "dimensions, sorted", refs: refs, empty: "no snapshot yet"}
	if s := r.Snap; s != nil && len(s.Std) > 0 {
		v := make([]float64, len(s.Std))
		mean, hi := 0.0, 0.0
		for i, x := range s.Std {
			v[i] = float64(x)
			if finite(v[i]) {
				mean += v[i]
				hi = max(hi, v[i])
			}
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(v)))
		sd.bars = v
		sd.x0, sd.x1 = 0, float64(len(v))
		sd.y0, sd.y1 = 0, NiceMax(max(hi, healthy*1.25))
	}
	b.chart(cells[1], sd)

	// 3–6. over training
	series := func(title string, s *Series, col color.RGBA) chart {
		c := chart{title: title, x0: 0, x1: b.xMax, xLabel: "step", empty: "no metrics yet"}
		if s.Len() > 0 {
			c.lines = []chartLine{{colour: col, pts: s.Decimate(0, b.xMax, buckets, nil)}}
			c.value = FormatValue(s.Last(), 3)
			if !finite(s.Last()) {
				c.valueCol = colBad
			}
		}
		return c
	}
	loss := series("loss", &r.Loss, colAccent)
	if _, hi, ok := r.Loss.Range(); ok {
		loss.y1 = NiceMax(hi)
	}
	b.chart(cells[2], loss)

	std := series("std (mean)", &r.Std, colAccent)
	std.refs = refs
	_, hi, _ := r.Std.Range()
	std.y1 = NiceMax(max(hi, healthy*1.25))
	b.chart(cells[3], std)

	rank := series("effective rank", &r.Rank, colAccent)
	// The rank runs from 1 (collapsed) to d (every dimension used): the
	// axis shows all of it, so a collapse is seen as a fall to the floor.
	rank.title, rank.short = "effective rank", "eff. rank"
	rank.y1 = float64(d)
	rank.refs = []refLine{{float64(d), colMuted, fmt.Sprintf("d = %d", d)}}
	b.chart(cells[4], rank)

	knn := chart{title: "kNN accuracy", short: "kNN acc.", x0: 0, x1: b.xMax, y0: 0, y1: 1, xLabel: "step", empty: "not evaluated yet"}
	names := make([]string, 0, len(r.KNN))
	for n := range r.KNN {
		names = append(names, n)
	}
	// Label sets in the hello's order, so colours stay put.
	order := func(n string) int {
		for i, ls := range b.a.lab.Labels {
			if ls.Name == n {
				return i
			}
		}
		return len(b.a.lab.Labels)
	}
	slices.SortFunc(names, func(x, y string) int { return order(x) - order(y) })
	for i, n := range names {
		s := r.KNN[n]
		if s.Len() == 0 {
			continue
		}
		c := seriesColours[i%len(seriesColours)]
		knn.lines = append(knn.lines, chartLine{name: n, colour: c, pts: s.Decimate(0, b.xMax, buckets, nil), dots: s.Len() < 30})
		knn.legend = append(knn.legend, chartLine{name: fmt.Sprintf("%s %.0f%%", n, 100*s.Last()), colour: c})
	}
	b.chart(cells[5], knn)
}

func (b *builder) chart(r Rect, c chart) {
	sc := b.sc
	fs := b.px(fsSmall - 0.5)
	// title row
	ty := r.Y + b.px(7)
	vw := 0.0
	if c.value != "" {
		col := c.valueCol
		if col.A == 0 {
			col = colMuted
		}
		sc.text(c.value, r.Right(), ty, b.px(fsSmall), false, AlignRight, col)
		vw = b.textW(c.value, fsSmall, false) + b.px(6)
	}
	title := c.title
	if c.short != "" && b.textW(title, fsSmall, true) > r.W-vw {
		title = c.short
	}
	sc.text(ellipsize(title, r.W-vw, b.px(fsSmall), true, b.m), r.X, ty, b.px(fsSmall), true, AlignLeft, colText)
	bottom := b.px(14) // tick labels
	if r.H > b.px(110) {
		bottom = b.px(24) // and the axis name
	}
	plot := Rect{r.X + b.px(30), r.Y + b.px(16), r.W - b.px(32), r.H - b.px(16) - bottom}
	if plot.H < b.px(10) || plot.W < b.px(20) {
		return
	}
	sc.fill(plot, rgb(0xfb, 0xfb, 0xfc))
	if bottom > b.px(14) {
		sc.text(ellipsize(c.xLabel, plot.W, fs, false, b.m), plot.CX(), plot.Bottom()+b.px(17), fs, false, AlignCenter, colFaint)
	}
	if len(c.lines) == 0 && len(c.bars) == 0 {
		sc.stroke(plot, b.px(1), colGrid)
		sc.text(c.empty, plot.CX(), plot.CY(), fs, false, AlignCenter, colFaint)
		return
	}
	var ys Scale
	if c.logY {
		ys = Log{c.y0, c.y1, plot.Bottom(), plot.Y}
		ticks := LogTicks(c.y0, c.y1)
		// Every k-th decade, so the labels do not touch.
		k := int(math.Ceil(float64(len(ticks)) * b.px(13) / plot.H))
		for i, t := range ticks {
			if k > 1 && (len(ticks)-1-i)%k != 0 {
				continue
			}
			y := ys.Map(t)
			sc.line(plot.X, y, plot.Right(), y, b.px(1), colGrid)
			sc.text(FormatLog(t), plot.X-b.px(3), y, fs, false, AlignRight, colMuted)
		}
	} else {
		if !(c.y1 > c.y0) {
			c.y1 = c.y0 + 1
		}
		ys = Linear{c.y0, c.y1, plot.Bottom(), plot.Y}
		ticks, step := NiceTicks(c.y0, c.y1, 2)
		for _, t := range ticks {
			y := ys.Map(t)
			sc.line(plot.X, y, plot.Right(), y, b.px(1), colGrid)
			sc.text(FormatTick(t, step), plot.X-b.px(3), y, fs, false, AlignRight, colMuted)
		}
	}
	var xs Scale = Linear{c.x0, c.x1, plot.X, plot.Right()}
	if c.logY && len(c.lines) > 0 && c.x1 > c.x0 && c.x0 > 0 {
		// The spectrum's x is the component index: on a log axis the tail
		// of small components does not squash the first few.
		xs = Log{c.x0, c.x1, plot.X, plot.Right()}
	}
	if len(c.bars) == 0 && c.xLabel == "step" {
		// step ticks at both ends
		sc.text("0", plot.X, plot.Bottom()+b.px(6), fs, false, AlignLeft, colMuted)
		sc.text(FormatSI(c.x1), plot.Right(), plot.Bottom()+b.px(6), fs, false, AlignRight, colMuted)
	}
	sc.line(plot.X, plot.Bottom(), plot.Right(), plot.Bottom(), b.px(1), colAxis)

	if n := len(c.bars); n > 0 {
		bw := plot.W / float64(n)
		y0 := ys.Map(c.y0)
		for i, v := range c.bars {
			if !finite(v) {
				continue
			}
			y := clamp(ys.Map(v), plot.Y, plot.Bottom())
			sc.fill(Rect{plot.X + float64(i)*bw, y, max(bw-b.px(0.5), b.px(0.8)), y0 - y}, WithAlpha(colAccent, 0.7))
		}
	}
	for _, l := range c.lines {
		var px, py float64
		have := false
		for _, p := range l.pts {
			x, y := xs.Map(p[0]), ys.Map(p[1])
			if !finite(p[1]) || !finite(y) {
				have = false
				continue
			}
			y = clamp(y, plot.Y, plot.Bottom())
			if have {
				sc.line(px, py, x, y, b.px(1.5), l.colour)
			}
			if l.dots {
				sc.dot(x, y, b.px(2), l.colour)
			}
			px, py, have = x, y, true
		}
	}
	for _, ref := range c.refs {
		y := ys.Map(ref.y)
		if y < plot.Y || y > plot.Bottom() {
			continue
		}
		sc.dashed(plot.X, y, plot.Right(), y, b.px(1.2), b.px(4), ref.colour)
		lw := b.m(ref.label, fs, false)
		ly := y - b.px(7)
		if ly-b.px(6) < plot.Y {
			ly = y + b.px(7)
		}
		sc.round(Rect{plot.Right() - lw - b.px(5), ly - b.px(6), lw + b.px(4), b.px(12)}, b.px(2), WithAlpha(colPanel, 0.85))
		sc.text(ref.label, plot.Right()-b.px(3), ly, fs, false, AlignRight, ref.colour)
	}
	// The legend, one entry per line at the bottom right, where learning
	// curves that start low and rise leave room.
	ly := plot.Bottom() - b.px(7) - b.px(12)*float64(len(c.legend)-1)
	for _, l := range c.legend {
		w := b.px(14) + b.m(l.name, fs, false)
		lx := plot.Right() - w - b.px(3)
		sc.round(Rect{lx - b.px(2), ly - b.px(6), w + b.px(4), b.px(12)}, b.px(2), WithAlpha(colPanel, 0.85))
		sc.line(lx, ly, lx+b.px(10), ly, b.px(2), l.colour)
		sc.text(l.name, lx+b.px(13), ly, fs, false, AlignLeft, colText)
		ly += b.px(12)
	}
}
