package ui

import (
	"fmt"
	"image/color"

	"github.com/byol-lab/byol-lab/viz/proto"
)

// panelRects is where the parts of a panel go.
type panelRects struct {
	head, controls, legend, scatter, charts Rect
	chartRows, chartCols                    int
	side                                    float64 // of the scatter's square plot
}

// scatterSide is the side of the square plot a scatter area holds (after
// its title row, tick labels and margins).
func (b *builder) scatterSide(r Rect) float64 {
	return min(r.W-b.px(40), r.H-b.px(18+22+4))
}

// layoutPanel places the parts of run r's panel in cell: header on top,
// controls at the bottom, the colour key above them, and the scatter with
// the six charts either in a column on its right or in two rows beneath,
// whichever leaves the scatter larger (the scatter is what the lesson is
// about; the charts go if there is no room for both).
func (b *builder) layoutPanel(r *Run, cell Rect) panelRects {
	a := b.a
	var p panelRects
	in := cell.Inset(b.px(10))
	p.head, in = in.CutTop(b.px(42))
	if !a.view.Hidden(HideControls) {
		in, p.controls = in.CutBottom(b.controls(r, in, true))
		in, _ = in.CutBottom(b.px(6))
	}
	in, p.legend = in.CutBottom(b.classLegend(in, true))
	in, _ = in.CutBottom(b.px(4))
	p.scatter, p.side = in, b.scatterSide(in)
	if a.view.Hidden(HideCharts) {
		return p
	}
	best := 0.0
	// Charts in a column of 3×2 on the right.
	if in.H >= b.px(3*62) {
		cw := max(b.px(250), in.W-(in.H-b.px(44))-b.px(50))
		if sc, ch := in.CutRight(cw); sc.W > b.px(10) {
			sc.W -= b.px(10)
			if side := b.scatterSide(sc); side > best {
				best = side
				p.scatter, p.charts, p.chartRows, p.chartCols, p.side = sc, ch, 3, 2, side
			}
		}
	}
	// Charts in two rows of 3 underneath.
	if in.W >= b.px(300) {
		ch := clamp(in.H*0.42, b.px(2*78), b.px(2*120))
		sc, charts := in.CutBottom(ch)
		sc.H -= b.px(6)
		if side := b.scatterSide(sc); side > best {
			best = side
			p.scatter, p.charts, p.chartRows, p.chartCols, p.side = sc, charts, 2, 3, side
		}
	}
	// Narrow: three rows of two underneath.
	if in.W < b.px(300) {
		ch := clamp(in.H*0.45, b.px(3*70), b.px(3*110))
		sc, charts := in.CutBottom(ch)
		sc.H -= b.px(6)
		if side := b.scatterSide(sc); side > best {
			best = side
			p.scatter, p.charts, p.chartRows, p.chartCols, p.side = sc, charts, 3, 2, side
		}
	}
	if best < b.px(110) {
		// No room for both: the scatter alone.
		p.scatter, p.charts, p.chartRows, p.side = in, Rect{}, 0, b.scatterSide(in)
	}
	return p
}

// panel draws one run: header with status, scatter, charts, controls.
func (b *builder) panel(i int, r *Run, cell Rect) {
	a, sc := b.a, b.sc
	sc.round(cell, b.px(8), colPanel)
	border, bw := colBorder, b.px(1)
	if r.Collapsed() {
		border, bw = colBad, b.px(2)
	} else if a.focusRun() == r.Info.ID && len(a.visibleIDs()) > 1 {
		border, bw = colAccent, b.px(1.5)
	}
	sc.stroke(cell, bw, border)

	p := b.layoutPanel(r, cell)
	b.header(i, r, p.head)
	if p.controls.H > 0 {
		b.controls(r, p.controls, false)
	}
	b.classLegend(p.legend, false)
	if p.chartRows > 0 {
		b.charts(r, p.charts, p.chartRows, p.chartCols)
	}
	g := b.scatter(i, r, p.scatter, cell)
	b.panels = append(b.panels, g)
}

func (b *builder) header(i int, r *Run, head Rect) {
	a, sc := b.a, b.sc
	k := a.knobs(r, b.now)
	y1 := head.Y + b.px(11)
	x := head.X
	name := r.Info.Name
	if n := len(a.visibleIDs()); n > 1 {
		name = fmt.Sprintf("%d  %s", i+1, name)
	}
	name = ellipsize(name, head.W*0.55, b.px(fsHead+1), true, b.m)
	sc.text(name, x, y1, b.px(fsHead+1), true, AlignLeft, colText)
	x += b.textW(name, fsHead+1, true) + b.px(10)

	state, sc1 := r.Info.State, colOff
	switch state {
	case proto.StateRunning:
		sc1 = colGood
	case proto.StateDiverged:
		state, sc1 = "diverged (NaN)", colBad
	}
	w := b.textW(state, fsSmall, true) + b.px(12)
	pill := Rect{x, y1 - b.px(9), w, b.px(18)}
	sc.round(pill, b.px(9), WithAlpha(sc1, 0.14))
	sc.text(state, pill.CX(), y1, b.px(fsSmall), true, AlignCenter, sc1)

	if r.Collapsed() {
		label := "COLLAPSED"
		w := b.textW(label, fsHead, true) + b.px(20)
		badge := Rect{head.Right() - w, y1 - b.px(11), w, b.px(22)}
		sc.round(badge, b.px(4), colBad)
		sc.text(label, badge.CX(), y1, b.px(fsHead), true, AlignCenter, colPanel)
		if b.a.hoverWidget == "" && badge.Contains(b.a.mouseX, b.a.mouseY) {
			line := CollapseLine(r.Dim())
			b.tips = append(b.tips, b.widgetTip(badge, badge.X-b.px(200), []tipLine{{
				text: fmt.Sprintf("std of the normalised projections %s < 0.2/√d = %s: every image gets almost the same output. Healthy: 1/√d = %s.",
					FormatValue(float64(r.Last.Std), 3), FormatValue(line, 3), FormatValue(HealthyStd(r.Dim()), 3))}}))
		}
	}

	// status line
	y2 := head.Y + b.px(32)
	type seg struct {
		t string
		c color.RGBA
		b bool
	}
	segs := []seg{{"step " + FormatCount(r.Info.Step), colText, false}}
	if r.HasMetrics {
		segs = append(segs, seg{"   " + FormatSI(float64(r.Last.ImgsPerS)) + " img/s", colMuted, false})
	}
	tau := k.TauBase
	if r.HasMetrics {
		tau = float64(r.Last.Tau)
	}
	sched := ""
	if k.TauSchedule == proto.TauCosine {
		sched = " (cos)"
	}
	segs = append(segs,
		seg{"   τ " + FormatValue(tau, 4) + sched, colMuted, false},
		seg{"   lr " + FormatValue(k.LR, 2), colMuted, false},
		seg{"   predictor ", colMuted, false})
	if k.Predictor {
		segs = append(segs, seg{"ON", colGood, true})
	} else {
		segs = append(segs, seg{"OFF", colBad, true})
	}
	segs = append(segs, seg{fmt.Sprintf("   d = %d", r.Dim()), colMuted, false})
	x = head.X
	for _, s := range segs {
		w := b.textW(s.t, fsSmall+0.5, s.b)
		if x+w > head.Right() {
			break
		}
		sc.text(s.t, x, y2, b.px(fsSmall+0.5), s.b, AlignLeft, s.c)
		x += w
	}
}

// controls lays out (and, unless measure, draws) the run's controls in r
// and returns the height used. They come in groups (run actions, the
// predictor, τ, lr, augmentations) that flow left to right and wrap as a
// whole, so a narrow panel gets more rows but never a split group.
func (b *builder) controls(r *Run, area Rect, measure bool) float64 {
	a := b.a
	k := a.knobs(r, b.now)
	id := r.Info.ID
	en := a.canControl() && a.conn.State == ConnOpen
	rowH, gap, ggap := b.px(22), b.px(4), b.px(12)
	x, y := area.X, area.Y

	// An item is a button, a label or a slider, with its width.
	type item struct {
		w      float64
		widget *Widget
		label  string
		text   string // a value shown as text (centred)
		slider bool
	}
	var group []item
	btn := func(w Widget) {
		w.small = true
		group = append(group, item{w: b.smallButtonW(w.Label), widget: &w})
	}
	label := func(t string) { group = append(group, item{w: b.textW(t, fsSmall, false) + b.px(2), label: t}) }
	value := func(t string, w float64) { group = append(group, item{w: w, text: t}) }
	flush := func() {
		total := -gap
		for _, it := range group {
			total += it.w + gap
		}
		if x > area.X && x+total > area.Right() {
			x, y = area.X, y+rowH+gap
		}
		for _, it := range group {
			if x > area.X && x+it.w > area.Right() {
				x, y = area.X, y+rowH+gap
			}
			rr := Rect{x, y, it.w, rowH}
			x += it.w + gap
			if measure {
				continue
			}
			switch {
			case it.slider:
				it.widget.R = rr
				it.widget.track = Rect{rr.X + b.px(6), rr.Y, rr.W - b.px(12), rr.H}
				b.slider(*it.widget)
			case it.widget != nil:
				it.widget.R = rr
				b.button(*it.widget, false)
			case it.label != "":
				b.sc.text(it.label, rr.X, rr.CY(), b.px(fsSmall), false, AlignLeft, colMuted)
			default:
				b.sc.text(it.text, rr.CX(), rr.CY(), b.px(fsBody-0.5), false, AlignCenter, colText)
			}
		}
		x += ggap - gap
		group = group[:0]
	}

	// The run: pause/resume, step, reset, fork, delete.
	pr := "pause"
	if r.Info.State != proto.StateRunning {
		pr = "resume"
	}
	running := r.Info.State != proto.StateDiverged
	btn(Widget{ID: "pause/" + id, Act: Action{Kind: ActPauseResume, Run: id}, Enabled: en && running,
		Label: pr, Tip: "pause or resume training (space)"})
	btn(Widget{ID: "step/" + id, Act: Action{Kind: ActStep, Run: id}, Enabled: en && running,
		Label: fmt.Sprintf("step %d", StepN), Tip: fmt.Sprintf("train %d steps, then pause (s)", StepN)})
	_, armedReset := a.armed[armID(ActReset, id)]
	rl := "reset"
	if armedReset {
		rl = "reset? click again"
	}
	btn(Widget{ID: "reset/" + id, Act: Action{Kind: ActReset, Run: id}, Enabled: en, On: armedReset, Label: rl,
		Tip: "back to step 0 with fresh random weights, same settings (click twice)"})
	btn(Widget{ID: "fork/" + id, Act: Action{Kind: ActFork, Run: id}, Enabled: en, Label: "fork",
		Tip: "copy this run, weights and all, into a new run you can change (f; F flips the predictor)"})
	_, armedDel := a.armed[armID(ActDelete, id)]
	dl := "delete"
	if armedDel {
		dl = "delete? click again"
	}
	btn(Widget{ID: "delete/" + id, Act: Action{Kind: ActDelete, Run: id}, Enabled: en, On: armedDel, Label: dl,
		Tip: "delete this run (click twice)"})
	flush()

	pl := "predictor OFF"
	if k.Predictor {
		pl = "predictor ON"
	}
	btn(Widget{ID: "predictor/" + id, Act: Action{Kind: ActPredictor, Run: id}, Enabled: en, On: k.Predictor, Label: pl,
		Tip: "the predictor q makes the two networks asymmetric; without it BYOL collapses (p)"})
	flush()

	// τ: slider, value, schedule.
	label("τ")
	val := k.TauBase
	if a.drag != nil && a.drag.run == id {
		val = a.drag.value
	}
	group = append(group, item{w: clamp(area.W*0.25, b.px(90), b.px(180)), slider: true, widget: &Widget{
		ID: "tau/" + id, Act: Action{Kind: ActTau, Run: id}, Enabled: en, Slider: true, Lo: 0, Hi: 1, Value: val,
		Label: FormatTau(val), Tip: "τ, the target's EMA rate: ξ ← τ·ξ + (1−τ)·θ. 0 copies the online network, 1 freezes the target ([ ])"}})
	value(FormatTau(val), b.textW("0.9999", fsBody, false))
	btn(Widget{ID: "cosine/" + id, Act: Action{Kind: ActCosine, Run: id}, Enabled: en, On: k.TauSchedule == proto.TauCosine,
		Label: "cosine τ→1", Tip: "the paper's schedule: τ rises from the value above to 1 over the run (c)"})
	flush()

	label("lr")
	btn(Widget{ID: "lrdown/" + id, Act: Action{Kind: ActLRDown, Run: id}, Enabled: en, Label: "−", Tip: "learning rate down (−)"})
	value(FormatValue(k.LR, 2), b.textW("0.0001", fsBody, false))
	btn(Widget{ID: "lrup/" + id, Act: Action{Kind: ActLRUp, Run: id}, Enabled: en, Label: "+", Tip: "learning rate up (+)"})
	flush()

	label("augment")
	for _, name := range proto.AugmentNames {
		btn(Widget{ID: "aug/" + id + "/" + name, Act: Action{Kind: ActAugment, Run: id, Arg: name}, Enabled: en, On: k.Augment[name],
			Label: name, Tip: augTip(name)})
	}
	flush()
	return y + rowH - area.Y
}

func augTip(name string) string {
	if t, ok := augTips[name]; ok {
		return t
	}
	return "switch the " + name + " augmentation on or off in both views"
}

var augTips = map[string]string{
	proto.AugCrop:      "random resized crop: each view sees another part of the image",
	proto.AugRotate:    "random rotation",
	proto.AugFlip:      "horizontal flip",
	proto.AugJitter:    "colour jitter: brightness, contrast, saturation, hue. Without it, matching colours is enough to agree",
	proto.AugGrayscale: "turn some views grey",
	proto.AugBlur:      "Gaussian blur",
	proto.AugSolarize:  "solarize: invert the bright pixels (second view only, as in the paper)",
	proto.AugNoise:     "pixel noise",
}

// FormatTau writes τ with the digits that matter near 1 (0.996, 0.9996).
func FormatTau(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	if v > 0.99 && v < 1 {
		s = fmt.Sprintf("%.4f", v)
	}
	return s
}

func (b *builder) slider(w Widget) {
	sc := b.sc
	t := w.track
	y := t.CY()
	fg := colAccent
	if !w.Enabled {
		fg = colFaint
	}
	sc.round(Rect{t.X, y - b.px(2), t.W, b.px(4)}, b.px(2), colButton)
	xv := Linear{w.Lo, w.Hi, t.X, t.Right()}.Map(clamp(w.Value, w.Lo, w.Hi))
	sc.round(Rect{t.X, y - b.px(2), xv - t.X, b.px(4)}, b.px(2), WithAlpha(fg, 0.6))
	for _, v := range []float64{0, 0.5, 1} {
		xx := Linear{w.Lo, w.Hi, t.X, t.Right()}.Map(v)
		sc.line(xx, y+b.px(5), xx, y+b.px(8), b.px(1), colFaint)
	}
	sc.dot(xv, y, b.px(7), fg)
	sc.dot(xv, y, b.px(4.5), colPanel)
	sc.Widgets = append(sc.Widgets, w)
	if b.a.hoverWidget == w.ID && w.Enabled && b.a.drag == nil {
		b.tips = append(b.tips, b.widgetTip(w.R, w.R.X, []tipLine{{text: w.Tip}}))
	}
}
