package ui

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"github.com/byol-lab/byol-lab/viz/proto"
)

// panelGeom is where a panel's scatter put its points, for hover tests.
type panelGeom struct {
	run      string
	card     Rect
	plot     Rect
	cx, cy   float64 // pixel of data (0, 0)
	k        float64 // pixels per data unit (y grows upwards in data)
	online   []float32
	target   []float32
	hasPoint bool
}

func (g *panelGeom) toPx(x, y float32) (float64, float64) {
	return g.cx + float64(x)*g.k, g.cy - float64(y)*g.k
}

// onlineCloud is the online output the view draws.
func (a *App) onlineCloud(s *proto.Snapshot) []float32 {
	if a.view.Cloud == CloudPred {
		return s.Pred
	}
	return s.Proj
}

// Extent is the half-width of the square that holds the online and target
// clouds: the largest |x| or |y|, but at most three times the 95th
// percentile, so that one stray point does not shrink everything else.
func Extent(online, target []float32) float64 {
	var v []float64
	for _, c := range [][]float32{online, target} {
		for _, x := range c {
			if f := math.Abs(float64(x)); finite(f) {
				v = append(v, f)
			}
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	p95 := v[min(len(v)-1, int(math.Ceil(0.95*float64(len(v))))-1)]
	return min(v[len(v)-1], 3*p95)
}

// snapExtent is Extent of the run's latest snapshot, computed once per
// snapshot and cloud.
func (a *App) snapExtent(r *Run) float64 {
	k := extentKey{r.Snap, r.Snap.Step, r.Snap.Time, a.view.Cloud}
	if r.ext.key != k {
		r.ext.key, r.ext.v = k, Extent(a.onlineCloud(r.Snap), r.Snap.Target)
	}
	return r.ext.v
}

type extentKey struct {
	snap  *proto.Snapshot // the buffer (two alternate), with step and time
	step  uint64
	time  int64
	cloud string
}

// extentFor is the scatter's half-width for a run under the zoom mode,
// eased towards its target so that the axes glide instead of jumping.
func (b *builder) extentFor(r *Run) float64 {
	a := b.a
	if a.view.Zoom == ZoomFixed {
		return 1
	}
	key := r.Info.ID
	var want float64
	if a.view.Zoom == ZoomShared {
		key = ""
		for _, o := range a.shown() {
			if o.Snap != nil {
				want = max(want, a.snapExtent(o))
			}
		}
	} else if r.Snap != nil {
		want = a.snapExtent(r)
	}
	want = max(want*1.1, 1e-4)
	cur, ok := a.extent[key]
	if !ok || !(cur > 0) || a.lastScene.IsZero() {
		cur = want
	} else {
		dt := b.now.Sub(a.lastScene).Seconds()
		if key == "" && r.Info.ID != a.shownIDs()[0] {
			dt = 0 // the shared extent eases once per frame
		}
		// Ease in log space: a collapse spans decades.
		f := 1 - math.Exp(-max(0, dt)/0.25)
		cur = math.Exp(math.Log(cur) + (math.Log(want)-math.Log(cur))*f)
	}
	a.extent[key] = cur
	return cur
}

func (b *builder) scatter(i int, r *Run, area, card Rect) panelGeom {
	a, sc := b.a, b.sc
	geom := panelGeom{run: r.Info.ID, card: card}
	if area.H < b.px(60) || area.W < b.px(60) {
		return geom
	}
	labels := a.lab.Labels
	li := a.lab.labelSet(a.view.Label)

	// Title, and the legend of the two clouds on the right.
	title, rest := area.CutTop(b.px(18))
	what, tgt := "online z", "target z′"
	if a.view.Cloud == CloudPred {
		what = "online q(z)"
	}
	if b.textW(what+tgt, fsSmall, false)+b.px(40) > title.W {
		what, tgt = "online", "target"
	}
	lx := title.Right()
	lw := b.textW(tgt, fsSmall, false)
	sc.text(tgt, lx, title.CY(), b.px(fsSmall), false, AlignRight, colMuted)
	sc.ring(lx-lw-b.px(8), title.CY(), b.px(3.5), b.px(1.3), colText)
	lx -= lw + b.px(22)
	lw = b.textW(what, fsSmall, false)
	sc.text(what, lx, title.CY(), b.px(fsSmall), false, AlignRight, colMuted)
	sc.dot(lx-lw-b.px(8), title.CY(), b.px(3.5), colText)
	room := lx - lw - b.px(20) - title.X
	for _, t := range []string{
		fmt.Sprintf("embeddings of the %d probe images (2-D PCA)", a.lab.ProbeN),
		fmt.Sprintf("%d probe images (2-D PCA)", a.lab.ProbeN),
		"2-D PCA",
	} {
		if b.textW(t, fsSmall+0.5, true) <= room {
			sc.text(t, title.X, title.CY(), b.px(fsSmall+0.5), true, AlignLeft, colText)
			break
		}
	}

	// Plot: a square data window centred in what is left, with room for
	// tick labels.
	plotArea := Rect{rest.X + b.px(34), rest.Y + b.px(4), rest.W - b.px(40), rest.H - b.px(22)}
	side := min(plotArea.W, plotArea.H)
	if side < b.px(40) {
		return geom
	}
	plot := Rect{plotArea.CX() - side/2, plotArea.Y, side, side}
	if plotArea.W > plotArea.H {
		plot.X = plotArea.X + (plotArea.W-side)/2
	}
	sc.fill(plot, rgb(0xfb, 0xfb, 0xfc))
	sc.stroke(plot, b.px(1), colGrid)

	geom.plot, geom.cx, geom.cy = plot, plot.CX(), plot.CY()
	if r.Snap == nil {
		b.centred(plot, "waiting for the first snapshot…", fsBody, colMuted)
		return geom
	}
	b.sc.Data = true
	e := b.extentFor(r)
	geom.k = side / 2 / e
	ticks, step := NiceTicks(-e, e, 4)
	for _, t := range ticks {
		x, y := geom.cx+t*geom.k, geom.cy-t*geom.k
		c := colGrid
		if t == 0 {
			c = colAxis
		}
		if x >= plot.X && x <= plot.Right() {
			sc.line(x, plot.Y, x, plot.Bottom(), b.px(1), c)
			sc.text(FormatTick(t, step), x, plot.Bottom()+b.px(8), b.px(fsSmall-1), false, AlignCenter, colMuted)
		}
		if y >= plot.Y && y <= plot.Bottom() {
			sc.line(plot.X, y, plot.Right(), y, b.px(1), c)
			sc.text(FormatTick(t, step), plot.X-b.px(4), y, b.px(fsSmall-1), false, AlignRight, colMuted)
		}
	}
	sc.text("PC 1", plot.Right()-b.px(2), plot.Bottom()-b.px(8), b.px(fsSmall-1), false, AlignRight, colFaint)
	sc.text("PC 2", plot.X+b.px(4), plot.Y+b.px(9), b.px(fsSmall-1), false, AlignLeft, colFaint)

	online, target := a.onlineCloud(r.Snap), r.Snap.Target
	geom.online, geom.target, geom.hasPoint = online, target, true
	n := r.Snap.N()
	var y []int32
	var pal []color.RGBA
	if li < len(labels) {
		y, pal = labels[li].Y, a.lab.Palettes[li]
	}
	colour := func(j int) color.RGBA {
		if j < len(y) && y[j] >= 0 && int(y[j]) < len(pal) {
			return pal[y[j]]
		}
		return colUnlabeled
	}
	inside := func(x, y float64) bool {
		return x >= plot.X-1 && x <= plot.Right()+1 && y >= plot.Y-1 && y <= plot.Bottom()+1 && finite(x) && finite(y)
	}
	clip := func(x, y float64) (float64, float64) {
		return clamp(x, plot.X, plot.Right()), clamp(y, plot.Y, plot.Bottom())
	}
	if a.view.Links {
		for j := range n {
			x0, y0 := geom.toPx(online[2*j], online[2*j+1])
			x1, y1 := geom.toPx(target[2*j], target[2*j+1])
			if inside(x0, y0) || inside(x1, y1) {
				x0, y0 = clip(x0, y0)
				x1, y1 = clip(x1, y1)
				sc.line(x0, y0, x1, y1, b.px(0.8), WithAlpha(colour(j), 0.3))
			}
		}
	}
	pr := b.px(3)
	for j := range n {
		x, yy := geom.toPx(target[2*j], target[2*j+1])
		if inside(x, yy) {
			sc.ring(x, yy, pr+b.px(0.6), b.px(1.2), WithAlpha(colour(j), 0.85))
		}
	}
	for j := range n {
		x, yy := geom.toPx(online[2*j], online[2*j+1])
		if inside(x, yy) {
			sc.dot(x, yy, pr, WithAlpha(colour(j), 0.85))
		}
	}
	// Points outside the window (a stray outlier, or a fixed zoom) are
	// counted rather than silently lost.
	out := 0
	for j := range n {
		x0, y0 := geom.toPx(online[2*j], online[2*j+1])
		if !inside(x0, y0) {
			out++
		}
	}
	if out > 0 {
		sc.text(fmt.Sprintf("%d outside the view", out), plot.X+b.px(4), plot.Bottom()-b.px(8), b.px(fsSmall-1), false, AlignLeft, colMuted)
	}
	if r.Snap.Flags&proto.FlagPredictorOff != 0 && a.view.Cloud == CloudPred {
		sc.text("predictor off: q(z) = z", plot.X+b.px(40), plot.Y+b.px(9), b.px(fsSmall-1), false, AlignLeft, colBad)
	}
	if r.Collapsed() && r.HasMetrics {
		msg := fmt.Sprintf("collapsed: std %s < 0.2/√d = %s",
			FormatValue(float64(r.Last.Std), 2), FormatValue(CollapseLine(r.Dim()), 2))
		sc.text(ellipsize(msg, plot.W-b.px(8), b.px(fsSmall), true, b.m), plot.CX(), plot.Bottom()-b.px(22), b.px(fsSmall), true, AlignCenter, colBad)
	}

	// The image under the mouse, in every panel.
	if h := a.hoverPoint; h >= 0 && h < n {
		x0, y0 := geom.toPx(online[2*h], online[2*h+1])
		x1, y1 := geom.toPx(target[2*h], target[2*h+1])
		if inside(x0, y0) && inside(x1, y1) {
			sc.line(x0, y0, x1, y1, b.px(1.5), colText)
		}
		if inside(x1, y1) {
			sc.ring(x1, y1, pr+b.px(3), b.px(2), colText)
		}
		if inside(x0, y0) {
			sc.dot(x0, y0, pr+b.px(1.5), colour(h))
			sc.ring(x0, y0, pr+b.px(3), b.px(2), colText)
		}
		if a.hoverPanel == i {
			b.pointTip(h, online, target, card)
		}
	}
	return geom
}

// classLegend lays out (and, unless measure, draws) the colour key of the
// current label set, wrapped to the width of r, and returns its height.
func (b *builder) classLegend(r Rect, measure bool) float64 {
	a, sc := b.a, b.sc
	if len(a.lab.Labels) == 0 {
		return 0
	}
	li := a.lab.labelSet(a.view.Label)
	ls, pal := a.lab.Labels[li], a.lab.Palettes[li]
	rowH, gap := b.px(16), b.px(12)
	x, y := r.X, r.Y+rowH/2
	place := func(w float64) (float64, float64) {
		if x > r.X && x+w > r.Right() {
			x, y = r.X, y+rowH
		}
		px, py := x, y
		x += w + gap
		return px, py
	}
	caption := "colour = " + ls.Name + " label (BYOL never sees it):"
	px, py := place(b.textW(caption, fsSmall, false))
	if !measure {
		sc.text(caption, px, py, b.px(fsSmall), false, AlignLeft, colMuted)
	}
	for i, c := range ls.Classes {
		px, py := place(b.px(13) + b.textW(c, fsSmall, false))
		if !measure {
			sc.dot(px+b.px(5), py, b.px(4.5), pal[i])
			sc.text(c, px+b.px(13), py, b.px(fsSmall), false, AlignLeft, colText)
		}
	}
	return y + rowH/2 - r.Y + b.px(2)
}

// The clouds a hovered point can belong to.
const (
	PointOnline = "online" // the filled dots
	PointTarget = "target" // the rings
)

// pointTip explains the probe image under the mouse: its picture, its
// labels, which cloud the mouse points at, and both positions. It stays
// inside the panel's card when it fits there.
func (b *builder) pointTip(h int, online, target []float32, card Rect) {
	a := b.a
	what := "online z"
	if a.view.Cloud == CloudPred {
		what = "online q(z)"
	}
	lines := []tipLine{{text: fmt.Sprintf("probe image #%d", h), bold: true}}
	for i, ls := range a.lab.Labels {
		if h < len(ls.Y) && ls.Y[h] >= 0 {
			c := a.lab.Palettes[i][ls.Y[h]]
			lines = append(lines, tipLine{text: ls.Name + ": " + ls.Classes[ls.Y[h]], swatch: &c})
		} else {
			lines = append(lines, tipLine{text: ls.Name + ": (none)"})
		}
	}
	at := "pointing at: " + what + " (dot)"
	if a.hoverCloud == PointTarget {
		at = "pointing at: target z′ (ring)"
	}
	lines = append(lines,
		tipLine{text: at},
		tipLine{text: fmt.Sprintf("%s (%s, %s)", what,
			FormatValue(float64(online[2*h]), 2), FormatValue(float64(online[2*h+1]), 2)), muted: true},
		tipLine{text: fmt.Sprintf("target z′ (%s, %s)",
			FormatValue(float64(target[2*h]), 2), FormatValue(float64(target[2*h+1]), 2)), muted: true},
		tipLine{text: "ringed in every panel", muted: true})
	t := tip{avoid: pointerBox(a.mouseX, a.mouseY, b.px(14)), x0: a.mouseX + b.px(14),
		bounds: card.Inset(b.px(4)), lines: lines, point: true}
	if a.lab.Probe != "" {
		img, state := a.thumbs.get(proto.ProbeImagePath(a.lab.Probe, h), b.now)
		a.hoverTip.image = state
		if state == ThumbFailed {
			t.lines = append(t.lines, tipLine{text: "(picture not available)", muted: true})
		} else {
			t.thumb = &tipThumb{img: img}
		}
	}
	b.tips = append(b.tips, t)
}

// pointerBox is the square around the mouse pointer a tooltip keeps off.
func pointerBox(x, y, gap float64) Rect { return Rect{x - gap, y - gap, 2 * gap, 2 * gap} }

// pointAt finds the panel under (x, y) and, inside its plot, the probe
// image whose online or target point is nearest, within 8 CSS pixels, and
// which of the two clouds that point is in.
func (a *App) pointAt(x, y float64) (panel, point int, cloud string) {
	panel, point = -1, -1
	for i := range a.panels {
		g := &a.panels[i]
		if !g.card.Contains(x, y) {
			continue
		}
		panel = i
		if g.hasPoint && g.plot.Contains(x, y) {
			point, cloud = g.nearestPoint(x, y, 8*a.scale)
		}
		return
	}
	return
}

// nearestPoint is the point of the online or target cloud nearest to the
// pixel (x, y), within radius pixels: its index and cloud, or -1. Online
// dots are drawn over target rings, so they win ties; points that are not
// finite are never hit.
func (g *panelGeom) nearestPoint(x, y, radius float64) (int, string) {
	best, point, cloud := radius*radius, -1, ""
	for _, c := range []struct {
		xy   []float32
		name string
	}{{g.online, PointOnline}, {g.target, PointTarget}} {
		for j := 0; j+1 < len(c.xy); j += 2 {
			px, py := g.toPx(c.xy[j], c.xy[j+1])
			if d := (px-x)*(px-x) + (py-y)*(py-y); d < best {
				best, point, cloud = d, j/2, c.name
			}
		}
	}
	return point, cloud
}
