package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"time"
)

// builder lays out and draws one frame.
type builder struct {
	a      *App
	sc     *Scene
	s      float64 // device scale factor
	now    time.Time
	m      Measurer
	panels []panelGeom
	xMax   float64 // the step axis shared by every panel's time series
	tips   []tip   // drawn last, on top
}

type tip struct {
	avoid  Rect    // what the tip must not cover: the mouse pointer, or the widget it explains
	x0     float64 // where its left edge goes if there is room
	bounds Rect    // it stays inside when it fits there (zero: the window)
	lines  []tipLine
	thumb  *tipThumb // a picture at its left (nil: none)
	point  bool      // the tip of a hovered point, reported by Debug
}

type tipLine struct {
	text   string
	swatch *color.RGBA
	bold   bool
	muted  bool
}

// tipThumb is the probe image in a point's tip: img, or a placeholder of
// the same size while it loads, so the tip does not jump when it arrives.
type tipThumb struct {
	img image.Image
}

// hoverTip is where the last scene put the hovered point's tip, for Debug.
type hoverTip struct {
	tip, thumb Rect
	image      string // ThumbNone, ThumbLoading, ThumbShown or ThumbFailed
}

// widgetTip is a tip under (or above) the rectangle r it explains.
func (b *builder) widgetTip(r Rect, x0 float64, lines []tipLine) tip {
	return tip{avoid: Rect{r.X, r.Y - b.px(6), r.W, r.H + b.px(12)}, x0: x0, lines: lines}
}

// Font sizes in CSS pixels.
const (
	fsTitle = 17.0
	fsHead  = 14.0
	fsBody  = 12.5
	fsSmall = 11.0
)

// Scene lays out and draws the frame for a window of w×h device pixels at
// device scale factor s. The Scene is reused: it is valid until the next
// call.
func (a *App) Scene(w, h, s float64, now time.Time) *Scene {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.frames++
	if !(s > 0) {
		s = 1
	}
	// One Scene is reused, so a frame allocates little besides its text.
	sc := a.scene
	if sc == nil {
		sc = &Scene{}
		a.scene = sc
	}
	*sc = Scene{W: w, H: h, S: s, Prims: sc.Prims[:0], Widgets: sc.Widgets[:0]}
	b := &builder{a: a, sc: sc, s: s, now: now, m: a.measure, panels: a.panels[:0]}
	a.hoverTip = hoverTip{}
	a.expire(now)
	b.frame()
	a.widgets = sc.Widgets
	a.panels = b.panels
	a.lastScene = now
	a.scale = s
	return sc
}

// Frames is how many scenes were built.
func (a *App) Frames() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.frames
}

func (b *builder) px(v float64) float64 { return v * b.s }

func (b *builder) textW(s string, size float64, bold bool) float64 {
	return b.m(s, b.px(size), bold)
}

func (b *builder) frame() {
	a, s := b.a, b.sc
	full := Rect{0, 0, s.W, s.H}
	s.fill(full, colBg)

	top, rest := full.CutTop(b.topBar(full, true))
	rest, foot := rest.CutBottom(b.px(26))
	var bar Rect
	if a.lab.Hello && len(a.lab.Runs) > 0 {
		bar, rest = rest.CutTop(b.px(34))
	}
	area := rest.Inset(b.px(8))
	runs := a.shown()
	var rows, cols, fit int
	if len(runs) > 0 {
		side := func(w, h float64) float64 { return b.layoutPanel(runs[0], Rect{0, 0, w * b.s, h * b.s}).side / b.s }
		rows, cols, fit = PanelGrid(area.W/b.s, area.H/b.s, len(runs), 8, side)
	}
	a.fit = fit
	runs = runs[:fit]

	b.topBar(top, false)
	b.footer(foot)
	if bar.H > 0 {
		b.runsBar(bar, len(a.shown())-fit)
	}
	switch {
	case !a.lab.Hello:
		b.centred(area, b.connectingText(), fsHead, colMuted)
	case len(runs) == 0:
		b.centred(area, "The lab has no runs. Choose a lesson from the menu at the top.", fsHead, colMuted)
	default:
		b.xMax = 1
		for _, r := range runs {
			b.xMax = max(b.xMax, float64(r.Info.Step))
		}
		b.xMax = NiceMax(b.xMax)
		for i, cell := range area.Grid(rows, cols, b.px(8)) {
			if i < len(runs) {
				b.panel(i, runs[i], cell)
			}
		}
	}
	if a.conn.State != ConnOpen && a.lab.Hello {
		s.layer()
		b.connBanner(area)
	}
	if a.menu {
		s.layer()
		b.presetMenu()
	}
	for _, t := range b.tips {
		if a.help {
			break
		}
		s.layer()
		b.drawTip(t)
	}
	if len(a.toasts) > 0 {
		s.layer()
		b.toasts(foot)
	}
	if a.help {
		s.layer()
		b.helpOverlay(full)
	}
}

// minScatter is the smallest scatter plot side, in CSS pixels, that a
// layout may give a panel before it shows fewer panels.
const minScatter = 150

// PanelGrid arranges n panels in an area w×h CSS pixels with gap between
// them: among the grids of rows×cols cells, the one whose panels get the
// largest scatter plot (side(cellW, cellH) says how large). If even the best
// grid gives less than minScatter, it shows fewer panels: fit is how many.
func PanelGrid(w, h float64, n int, gap float64, side func(w, h float64) float64) (rows, cols, fit int) {
	for fit = n; fit > 0; fit-- {
		best := 0.0
		for c := 1; c <= fit; c++ {
			r := (fit + c - 1) / c
			cw := (w - gap*float64(c-1)) / float64(c)
			ch := (h - gap*float64(r-1)) / float64(r)
			if s := side(cw, ch); s > best {
				best, rows, cols = s, r, c
			}
		}
		if best >= minScatter {
			return rows, cols, fit
		}
		if fit == 1 {
			return 1, 1, 1 // too small for anything good: one panel anyway
		}
	}
	return 0, 0, 0
}

func (b *builder) centred(r Rect, text string, size float64, c color.RGBA) {
	lines := wrap(text, r.W*0.8, b.px(size), false, b.m)
	lh := b.px(size) * 1.5
	y := r.CY() - lh*float64(len(lines)-1)/2
	for _, l := range lines {
		b.sc.text(l, r.CX(), y, b.px(size), false, AlignCenter, c)
		y += lh
	}
}

func (b *builder) connectingText() string {
	c := b.a.conn
	switch c.State {
	case ConnFatal:
		return c.Err
	case ConnWaiting:
		return fmt.Sprintf("Cannot reach the lab (%s). Trying again in %s…", c.Err, b.countdown(c.RetryAt))
	}
	return "Connecting to the lab…"
}

func (b *builder) countdown(t time.Time) string {
	d := t.Sub(b.now)
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%.0f s", math.Ceil(d.Seconds()))
}

// topBar: title, connection, lesson menu, and the view options; one row
// when they fit, else the view options go on a second row. With measure it
// only returns the height it needs.
func (b *builder) topBar(r Rect, measure bool) float64 {
	a, sc := b.a, b.sc
	label, c := b.connLabel()
	name := a.lab.Preset
	if name == "" {
		name = "(custom)"
	}
	leftW := b.px(14) + b.textW("byol-lab", fsTitle, true) + b.px(12) + b.px(14) + b.textW(label, fsSmall, false) + b.px(18)
	if a.lab.Hello {
		leftW += b.textW("lesson", fsSmall, false) + b.px(6) + b.textW(name, fsBody, true) + b.px(40)
	}
	width := func(opts []Widget) float64 {
		w := b.px(10)
		for _, o := range opts {
			w += b.buttonW(o.Label) + b.px(6)
		}
		if len(a.lab.Labels) > 1 {
			w += b.textW("colour by", fsSmall, false) + b.px(14)
		}
		return w
	}
	opts := b.viewOptions(false)
	rightW := width(opts)
	if rightW > r.W {
		opts = b.viewOptions(true)
		rightW = width(opts)
	}
	rowH := b.px(46)
	twoRows := leftW+rightW > r.W
	if measure {
		if twoRows {
			return rowH + b.px(36)
		}
		return rowH
	}

	sc.fill(r, colPanel)
	sc.line(r.X, r.Bottom(), r.Right(), r.Bottom(), b.px(1), colBorder)
	y := r.Y + rowH/2
	x := r.X + b.px(14)
	sc.text("byol-lab", x, y, b.px(fsTitle), true, AlignLeft, colText)
	x += b.textW("byol-lab", fsTitle, true) + b.px(12)

	// connection
	sc.dot(x+b.px(5), y, b.px(4.5), c)
	sc.text(label, x+b.px(14), y, b.px(fsSmall), false, AlignLeft, colMuted)
	x += b.px(14) + b.textW(label, fsSmall, false) + b.px(18)

	// lesson
	if a.lab.Hello {
		sc.text("lesson", x, y, b.px(fsSmall), false, AlignLeft, colMuted)
		x += b.textW("lesson", fsSmall, false) + b.px(6)
		w := b.textW(name, fsBody, true) + b.px(30)
		br := Rect{x, y - b.px(13), w, b.px(26)}
		enabled := a.canControl() && len(a.lab.Presets) > 0
		b.button(Widget{ID: "preset", R: br, Act: Action{Kind: ActMenu}, Enabled: enabled, On: a.menu, Label: name,
			Tip: "load another lesson: replaces every run, for everybody"}, true)
		if enabled {
			ax := br.Right() - b.px(13)
			sc.tri(ax-b.px(4), y-b.px(2), ax+b.px(4), y-b.px(2), ax, y+b.px(3), colText)
		}
	}

	// view options, right to left
	if twoRows {
		y = r.Bottom() - b.px(20)
	}
	rx := r.Right() - b.px(10)
	for _, w := range opts {
		w.R = Rect{rx - b.buttonW(w.Label), y - b.px(13), b.buttonW(w.Label), b.px(26)}
		rx = w.R.X - b.px(6)
		b.button(w, false)
	}
	if len(a.lab.Labels) > 1 {
		sc.text("colour by", rx, y, b.px(fsSmall), false, AlignRight, colMuted)
	}
	return r.H
}

// viewOptions are the top bar's buttons, right to left; compact ones for
// a narrow window.
func (b *builder) viewOptions(compact bool) []Widget {
	a := b.a
	cloud, help, zoom, links := "online: projection z", "? help", "zoom: "+zoomLabel(a.view.Zoom), "lines online→target"
	if a.view.Cloud == CloudPred {
		cloud = "online: prediction q(z)"
	}
	if compact {
		cloud, help, zoom, links = "z", "?", "zoom", "lines"
		if a.view.Cloud == CloudPred {
			cloud = "q(z)"
		}
	}
	opts := []Widget{
		{ID: "help", Act: Action{Kind: ActHelp}, Enabled: true, On: a.help, Label: help, Tip: "what you see, and the keyboard shortcuts"},
		{ID: "zoom", Act: Action{Kind: ActZoom}, Enabled: true, Label: zoom,
			Tip: "scatter scale: one shared scale (a collapsed cloud looks small), each panel filled, or fixed ±1"},
		{ID: "cloud", Act: Action{Kind: ActCloud}, Enabled: true, On: a.view.Cloud == CloudPred, Label: cloud,
			Tip: "draw the online projection z, or the predictor's output q(z) that the loss compares with the target"},
		{ID: "links", Act: Action{Kind: ActLinks}, Enabled: true, On: a.view.Links, Label: links,
			Tip: "a faint line from each image's online point to its target point: short lines = the two networks agree"},
	}
	if len(a.lab.Labels) > 1 {
		cur := a.lab.Labels[a.lab.labelSet(a.view.Label)].Name
		for i := len(a.lab.Labels) - 1; i >= 0; i-- {
			ls := a.lab.Labels[i]
			opts = append(opts, Widget{ID: "label/" + ls.Name, Act: Action{Kind: ActLabel, Arg: ls.Name}, Enabled: true,
				On: ls.Name == cur, Label: ls.Name, Tip: "colour the points by their " + ls.Name})
		}
	}
	return opts
}

func zoomLabel(z string) string {
	switch z {
	case ZoomPanel:
		return "each panel"
	case ZoomFixed:
		return "fixed ±1"
	}
	return "shared"
}

func (b *builder) connLabel() (string, color.RGBA) {
	c := b.a.conn
	switch c.State {
	case ConnOpen:
		if !b.a.lab.Hello {
			return "connected, waiting for the lab", colWarn
		}
		if b.a.lab.ReadOnly && b.a.token == "" {
			return "live · watching (read-only)", colGood
		}
		return "live", colGood
	case ConnWaiting:
		return "offline · retrying in " + b.countdown(c.RetryAt), colBad
	case ConnFatal:
		return "stopped: reload the page", colBad
	}
	if c.Attempt > 0 {
		return fmt.Sprintf("reconnecting (attempt %d)…", c.Attempt+1), colWarn
	}
	return "connecting…", colWarn
}

// runsBar: one chip per run; a chip shows or hides the run's panel.
func (b *builder) runsBar(r Rect, hidden int) {
	a, sc := b.a, b.sc
	y := r.CY()
	x := r.X + b.px(14)
	sc.text("runs", x, y, b.px(fsSmall), false, AlignLeft, colMuted)
	x += b.textW("runs", fsSmall, false) + b.px(8)
	shown := a.shownIDs()
	for _, run := range a.lab.Runs {
		on := false
		for _, id := range shown {
			on = on || id == run.Info.ID
		}
		label := run.Info.Name
		w := b.buttonW(label) + b.px(12)
		if x+w > r.Right()-b.px(200) {
			sc.text("…", x, y, b.px(fsBody), false, AlignLeft, colMuted)
			break
		}
		wr := Rect{x, y - b.px(12), w, b.px(24)}
		tipText := "show this run's panel"
		if on {
			tipText = "hide this run's panel"
		}
		b.button(Widget{ID: "run/" + run.Info.ID, R: wr, Act: Action{Kind: ActShowRun, Arg: run.Info.ID}, Enabled: true, On: on,
			Label: "   " + label, Tip: tipText}, false)
		dc := colGood
		switch {
		case run.Info.State == "diverged":
			dc = colBad
		case run.Collapsed():
			dc = colBad
		case run.Info.State == "paused":
			dc = colOff
		}
		sc.dot(wr.X+b.px(11), y, b.px(4), dc)
		x = wr.Right() + b.px(6)
	}
	note := "at most 4 side by side"
	if hidden > 0 {
		note = fmt.Sprintf("%d more selected: the window is too small to show them", hidden)
	} else if a.lab.ReadOnly && a.token == "" {
		note = "read-only: you watch, the teacher controls the runs"
	} else if a.lab.ReadOnly {
		note = "teacher: your changes reach every student"
	}
	sc.text(note, r.Right()-b.px(14), y, b.px(fsSmall), false, AlignRight, colMuted)
}

func (b *builder) footer(r Rect) {
	a, sc := b.a, b.sc
	sc.fill(r, colPanel)
	sc.line(r.X, r.Y, r.Right(), r.Y, b.px(1), colBorder)
	y := r.CY()
	right := "?  help  ·  the address bar holds a link to this view"
	sc.text(right, r.Right()-b.px(12), y, b.px(fsSmall), false, AlignRight, colMuted)
	room := r.W - b.textW(right, fsSmall, false) - b.px(40)
	if n := len(a.lab.Events); n > 0 {
		e := a.lab.Events[n-1]
		txt := e.At.Local().Format("15:04:05") + "  "
		if e.Run != "" {
			txt += e.Run + ": "
		}
		txt += e.Text
		c := colMuted
		if e.Kind == "collapse" || e.Kind == "nan" || e.Kind == "error" || e.Kind == "connection" {
			c = colBad
		}
		sc.text(ellipsize(txt, room, b.px(fsSmall), false, b.m), r.X+b.px(12), y, b.px(fsSmall), false, AlignLeft, c)
	} else if a.lab.Server != "" {
		sc.text(a.lab.Server, r.X+b.px(12), y, b.px(fsSmall), false, AlignLeft, colMuted)
	}
}

func (b *builder) connBanner(area Rect) {
	sc := b.sc
	sc.fill(area, WithAlpha(colBg, 0.55)) // dim the last data: it is not live
	var msg string
	c := b.a.conn
	switch c.State {
	case ConnFatal:
		msg = c.Err
	case ConnWaiting:
		msg = fmt.Sprintf("Connection to the lab lost (%s). Reconnecting in %s (attempt %d); the panels show the last data.",
			c.Err, b.countdown(c.RetryAt), c.Attempt+1)
	default:
		msg = "Reconnecting to the lab…"
	}
	h := b.px(34)
	br := Rect{area.X + area.W*0.1, area.Y + b.px(10), area.W * 0.8, h}
	sc.round(br, b.px(6), colBadBg)
	sc.stroke(br, b.px(1), colBad)
	sc.text(ellipsize(msg, br.W-b.px(20), b.px(fsBody), true, b.m), br.CX(), br.CY(), b.px(fsBody), true, AlignCenter, colBad)
}

func (b *builder) toasts(foot Rect) {
	y := foot.Y - b.px(10)
	for i := len(b.a.toasts) - 1; i >= 0; i-- {
		t := b.a.toasts[i]
		lines := wrap(t.Text, min(b.px(640), b.sc.W-b.px(40)), b.px(fsBody), false, b.m)
		lh := b.px(fsBody) * 1.45
		h := lh*float64(len(lines)) + b.px(12)
		w := 0.0
		for _, l := range lines {
			w = max(w, b.m(l, b.px(fsBody), false))
		}
		w += b.px(24)
		r := Rect{b.sc.W/2 - w/2, y - h, w, h}
		bg, fg := colText, colPanel
		if t.Error {
			bg = colBad
		}
		b.sc.round(r, b.px(6), WithAlpha(bg, 0.94))
		ly := r.Y + b.px(6) + lh/2
		for _, l := range lines {
			b.sc.text(l, r.CX(), ly, b.px(fsBody), false, AlignCenter, fg)
			ly += lh
		}
		y = r.Y - b.px(6)
	}
}

// buttonW is the width of a button labelled label.
func (b *builder) buttonW(label string) float64 {
	return b.textW(label, fsBody, false) + b.px(16)
}

// smallButtonW is the width of a panel control labelled label.
func (b *builder) smallButtonW(label string) float64 {
	return b.textW(label, fsSmall+0.5, false) + b.px(12)
}

// button draws a widget and registers it for clicks. Toggles that are on
// are filled with the accent colour; a bold label marks menus.
func (b *builder) button(w Widget, bold bool) {
	sc := b.sc
	bg, fg := colButton, colText
	hot := b.a.hoverWidget == w.ID && w.Enabled
	switch {
	case !w.Enabled:
		bg, fg = colBg, colFaint
	case w.On:
		bg, fg = colAccent, colPanel
	case hot:
		bg = colButtonHot
	}
	if w.On && hot {
		bg = rgb(0x1d, 0x4e, 0xd8)
	}
	sc.round(w.R, b.px(4), bg)
	if !w.Enabled {
		sc.stroke(w.R, b.px(1), colBorder)
	}
	x, al := w.R.CX(), AlignCenter
	if strings.HasPrefix(w.Label, "   ") || bold {
		x, al = w.R.X+b.px(8), AlignLeft
	}
	fs := fsBody
	if w.small {
		fs = fsSmall + 0.5
	}
	sc.text(w.Label, x, w.R.CY(), b.px(fs), bold, al, fg)
	sc.Widgets = append(sc.Widgets, w)
	if hot && w.Tip != "" && b.a.drag == nil {
		b.tips = append(b.tips, b.widgetTip(w.R, w.R.X, []tipLine{{text: w.Tip}}))
	}
}

func (b *builder) presetMenu() {
	a := b.a
	var ar Rect
	for _, w := range b.sc.Widgets {
		if w.ID == "preset" {
			ar = w.R
		}
	}
	if ar.W == 0 {
		return
	}
	w := b.px(200)
	for _, p := range a.lab.Presets {
		w = max(w, b.buttonW(p)+b.px(20))
	}
	ih := b.px(28)
	r := Rect{ar.X, ar.Bottom() + b.px(4), w, ih*float64(len(a.lab.Presets)) + b.px(30)}
	b.sc.round(Rect{r.X + b.px(2), r.Y + b.px(3), r.W, r.H}, b.px(6), WithAlpha(colText, 0.15))
	b.sc.round(r, b.px(6), colPanel)
	b.sc.stroke(r, b.px(1), colBorder)
	b.sc.text("load a lesson (replaces all runs)", r.X+b.px(10), r.Y+b.px(14), b.px(fsSmall), false, AlignLeft, colMuted)
	y := r.Y + b.px(26)
	for _, p := range a.lab.Presets {
		b.button(Widget{ID: "preset/" + p, R: Rect{r.X + b.px(4), y, r.W - b.px(8), ih - b.px(2)},
			Act: Action{Kind: ActPreset, Arg: p}, Enabled: true, On: p == a.lab.Preset, Label: "   " + p}, false)
		y += ih
	}
}

func (b *builder) drawTip(t tip) {
	fs := b.px(fsBody)
	lh := fs * 1.45
	pad := b.px(8)
	w := 0.0
	var lines []tipLine
	for _, l := range t.lines {
		for _, wl := range wrap(l.text, b.px(340), fs, l.bold, b.m) {
			nl := l
			nl.text = wl
			lines = append(lines, nl)
			extra := 0.0
			if l.swatch != nil {
				extra = b.px(14)
			}
			w = max(w, b.m(wl, fs, l.bold)+extra)
		}
	}
	textH := lh * float64(len(lines))
	// The picture, with its size in pixels under it.
	var box, caption float64
	if t.thumb != nil {
		box, caption = b.px(thumbBox), b.px(16)
		w += box + pad
	}
	w += 2 * pad
	h := max(textH, box+caption) + b.px(10)
	bounds := t.bounds
	if bounds.W < w || bounds.H < h {
		bounds = Rect{0, 0, b.sc.W, b.sc.H}.Inset(b.px(4))
	}
	r := placeTip(t.avoid, t.x0, w, h, bounds)
	b.sc.round(r, b.px(5), WithAlpha(colText, 0.95))
	tx0 := r.X + pad
	if t.thumb != nil {
		tb := Rect{r.X + pad, r.Y + b.px(5), box, box}
		b.thumb(t.thumb.img, tb, r.Y+b.px(5)+box+caption/2)
		tx0 += box + pad
		if t.point {
			b.a.hoverTip.thumb = tb
		}
	}
	if t.point {
		b.a.hoverTip.tip = r
	}
	ly := r.Y + b.px(5) + lh/2
	for _, l := range lines {
		tx := tx0
		if l.swatch != nil {
			b.sc.dot(tx+b.px(4), ly, b.px(4.5), *l.swatch)
			tx += b.px(14)
		}
		c := colPanel
		if l.muted {
			c = colFaint
		}
		b.sc.text(l.text, tx, ly, fs, l.bold, AlignLeft, c)
		ly += lh
	}
}

// thumb draws a probe image in the square box, enlarged by a whole factor
// (each pixel the network sees stays a sharp square), with its size in
// pixels written at captionY; while it loads, a placeholder says so.
func (b *builder) thumb(img image.Image, box Rect, captionY float64) {
	sc := b.sc
	if img == nil {
		sc.fill(box, WithAlpha(colPanel, 0.12))
		sc.text("loading…", box.CX(), box.CY(), b.px(fsSmall), false, AlignCenter, colFaint)
		return
	}
	iw, ih := img.Bounds().Dx(), img.Bounds().Dy()
	dw, dh := thumbFit(iw, ih, box.W)
	r := Rect{box.CX() - dw/2, box.CY() - dh/2, dw, dh}
	sc.add(Prim{Kind: Image, R: r, Image: img})
	// A light frame: dark images on the dark tip keep their edges.
	sc.stroke(Rect{r.X - b.px(1), r.Y - b.px(1), r.W + b.px(2), r.H + b.px(2)}, b.px(1), WithAlpha(colPanel, 0.6))
	sc.text(fmt.Sprintf("%d×%d pixels", iw, ih), box.CX(), captionY, b.px(fsSmall-1), false, AlignCenter, colFaint)
}

// placeTip places a w×h tip inside bounds without covering avoid (the
// mouse pointer, or the widget the tip explains): below it if there is
// room, else above, else beside it; along the other axis it starts at x0
// (or beside avoid's centre) and slides to stay inside. A tip larger than
// bounds keeps its top-left corner inside.
func placeTip(avoid Rect, x0, w, h float64, bounds Rect) Rect {
	x, y := x0, avoid.Bottom()
	switch {
	case avoid.Bottom()+h <= bounds.Bottom():
	case avoid.Y-h >= bounds.Y:
		y = avoid.Y - h
	default:
		y = avoid.CY() - h/2
		if avoid.Right()+w <= bounds.Right() {
			x = avoid.Right()
		} else if avoid.X-w >= bounds.X {
			x = avoid.X - w
		}
	}
	return Rect{slide(x, w, bounds.X, bounds.Right()), slide(y, h, bounds.Y, bounds.Bottom()), w, h}
}

// slide moves the span [v, v+size] inside [lo, hi], or to lo if it is
// longer.
func slide(v, size, lo, hi float64) float64 {
	return max(lo, min(v, hi-size))
}

// helpOverlay explains the page: what the points and charts mean, and the
// keys.
func (b *builder) helpOverlay(full Rect) {
	sc := b.sc
	sc.fill(full, colOverlay)
	w := min(full.W-b.px(40), b.px(980))
	h := min(full.H-b.px(40), b.px(620))
	r := Rect{full.CX() - w/2, full.CY() - h/2, w, h}
	sc.round(r, b.px(8), colPanel)
	in := r.Inset(b.px(20))
	sc.text("What you see", in.X, in.Y+b.px(8), b.px(fsTitle), true, AlignLeft, colText)
	sc.text("click anywhere or press Esc to close", in.Right(), in.Y+b.px(8), b.px(fsSmall), false, AlignRight, colMuted)
	left, right := in.CutLeft(in.W * 0.56)
	left.W -= b.px(20)
	y := in.Y + b.px(36)
	fs := b.px(fsBody)
	lh := fs * 1.45
	for _, para := range helpText {
		for _, l := range wrap(para, left.W, fs, false, b.m) {
			if y > in.Bottom() {
				break
			}
			sc.text(l, left.X, y, fs, false, AlignLeft, colText)
			y += lh
		}
		y += lh * 0.5
	}
	y = in.Y + b.px(36)
	sc.text("Keys (they act on the run under the mouse)", right.X, y, fs, true, AlignLeft, colText)
	y += lh * 1.3
	kw := b.px(86)
	for _, k := range Shortcuts {
		if y > in.Bottom() {
			break
		}
		sc.text(k[0], right.X, y, fs, true, AlignLeft, colAccent)
		for _, l := range wrap(k[1], right.W-kw, fs, false, b.m) {
			sc.text(l, right.X+kw, y, fs, false, AlignLeft, colText)
			y += lh
		}
	}
}

var helpText = []string{
	"BYOL learns from pictures without labels. Two networks look at two randomly altered copies (views) of each image: " +
		"the online network (encoder → projector → predictor) learns to predict what the target network (encoder → projector) " +
		"outputs for the other view. The target is not trained: it is a slowly moving average of the online network (EMA, rate τ).",
	"Scatter: each point is one of the probe images, placed by a 2-D PCA of the network's outputs. Filled dots: the online " +
		"network (projection z, or the prediction q(z)). Hollow rings: the target network (z′). Colours are the images' labels, " +
		"which BYOL never sees: if images of one colour group together, the network has learnt that property by itself. " +
		"Hover a point to see its picture (as small as the network sees it) and its labels.",
	"Collapse: giving every image the same output would also make the two networks agree. Without the predictor that is what " +
		"happens: the cloud shrinks to a point, the std of the outputs falls from about 1/√d towards 0 and the effective rank " +
		"towards 1. The red COLLAPSED badge appears when std < 0.2/√d.",
	"Charts: singular values of the outputs (log scale: a flat curve means many dimensions are used); the std of each " +
		"dimension against the healthy 1/√d; and over training steps the loss, the mean std, the effective rank and the kNN " +
		"accuracy (how often an image's nearest neighbours in the learnt representation share its label).",
	"Try: switch BYOL's predictor off and watch its std and rank fall; fork a trained run with F to compare the two " +
		"from the same start; set τ to 0 or 1; switch colour jitter off and compare the kNN accuracy on shape and colour.",
}
