package ui

import (
	"image"
	"image/color"
)

// Kind is what a Prim draws.
type Kind uint8

const (
	// FillRect fills Rect R (corners rounded by Radius).
	FillRect Kind = iota
	// StrokeRect outlines R with lines Width wide.
	StrokeRect
	// Line joins (X, Y) and (X2, Y2), Width wide.
	Line
	// Dot fills the circle of radius Radius around (X, Y).
	Dot
	// Ring outlines that circle with a line Width wide: a hollow point.
	Ring
	// Tri fills the triangle (X, Y), (X2, Y2), (X3, Y3): arrows and icons
	// (the Go font has no ▶ or ▾).
	Tri
	// Text writes Text at (X, Y) as Align says, Size pixels high.
	Text
	// Image draws Image scaled to fill R, each of its pixels a sharp
	// rectangle (nearest neighbour): a probe image.
	Image
	// Layer starts a new layer. Within a layer a renderer may draw all
	// shapes first and all text after (one batch each, which is what makes
	// software WebGL bearable); anything that must cover text, such as a
	// tooltip or an overlay, starts a layer.
	Layer
)

// Align places text relative to its anchor point: horizontally left,
// centred or right, and vertically by the middle of the line (so text and
// icons in a row share one centre line).
type Align uint8

const (
	AlignLeft Align = iota
	AlignCenter
	AlignRight
)

// Prim is one drawing primitive, in device pixels. Colours are
// non-premultiplied RGBA.
type Prim struct {
	Kind   Kind
	X, Y   float64
	X2, Y2 float64
	X3, Y3 float64
	R      Rect
	Radius float64
	Width  float64
	Colour color.RGBA
	Text   string
	Size   float64
	Bold   bool
	Align  Align
	Image  image.Image
}

// Scene is one frame: primitives in drawing order and the widgets that
// react to the mouse, in device pixels.
type Scene struct {
	W, H, S float64
	Prims   []Prim
	Widgets []Widget
	// Data is true once the frame shows at least one snapshot.
	Data bool
}

// Measurer returns the width in pixels of s written at size px.
type Measurer func(s string, size float64, bold bool) float64

// ApproxMeasure is a Measurer for tests and for layout before the font is
// loaded: Go Regular averages about 0.55 em per character.
func ApproxMeasure(s string, size float64, bold bool) float64 {
	n := 0
	for range s {
		n++
	}
	w := 0.55 * size * float64(n)
	if bold {
		w *= 1.06
	}
	return w
}

func (sc *Scene) add(p Prim) { sc.Prims = append(sc.Prims, p) }

// layer starts a new layer (see Layer).
func (sc *Scene) layer() { sc.add(Prim{Kind: Layer}) }

func (sc *Scene) fill(r Rect, c color.RGBA) { sc.add(Prim{Kind: FillRect, R: r, Colour: c}) }

func (sc *Scene) round(r Rect, radius float64, c color.RGBA) {
	sc.add(Prim{Kind: FillRect, R: r, Radius: radius, Colour: c})
}

func (sc *Scene) stroke(r Rect, w float64, c color.RGBA) {
	sc.add(Prim{Kind: StrokeRect, R: r, Width: w, Colour: c})
}

func (sc *Scene) line(x0, y0, x1, y1, w float64, c color.RGBA) {
	sc.add(Prim{Kind: Line, X: x0, Y: y0, X2: x1, Y2: y1, Width: w, Colour: c})
}

func (sc *Scene) dot(x, y, r float64, c color.RGBA) {
	sc.add(Prim{Kind: Dot, X: x, Y: y, Radius: r, Colour: c})
}

func (sc *Scene) ring(x, y, r, w float64, c color.RGBA) {
	sc.add(Prim{Kind: Ring, X: x, Y: y, Radius: r, Width: w, Colour: c})
}

func (sc *Scene) tri(x0, y0, x1, y1, x2, y2 float64, c color.RGBA) {
	sc.add(Prim{Kind: Tri, X: x0, Y: y0, X2: x1, Y2: y1, X3: x2, Y3: y2, Colour: c})
}

// text writes s with its vertical middle at y.
func (sc *Scene) text(s string, x, y, size float64, bold bool, al Align, c color.RGBA) {
	if s == "" {
		return
	}
	sc.add(Prim{Kind: Text, Text: s, X: x, Y: y, Size: size, Bold: bold, Align: al, Colour: c})
}

// dashed draws a dashed line.
func (sc *Scene) dashed(x0, y0, x1, y1, w, dash float64, c color.RGBA) {
	dx, dy := x1-x0, y1-y0
	l := hypot(dx, dy)
	if l == 0 || dash <= 0 {
		return
	}
	for t := 0.0; t < l; t += 2 * dash {
		e := min(t+dash, l)
		sc.line(x0+dx*t/l, y0+dy*t/l, x0+dx*e/l, y0+dy*e/l, w, c)
	}
}
