//go:build js

// Package draw renders a ui.Scene with ebiten and turns ebiten's input into
// a ui.Input: the only frontend code that knows ebiten. It holds no state of
// its own beyond fonts and scratch buffers. Every file is built for js only
// (ebiten needs cgo and a display natively), so `go test ./...` stays green
// on a plain machine; `GOOS=js GOARCH=wasm go vet ./...` checks it.
package draw

import (
	"bytes"
	"image"
	"image/color"
	"math"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/byol-lab/byol-lab/viz/ui"
)

// Renderer draws scenes. Shapes of every colour go into one vertex batch
// (colour per vertex), flushed when text must go on top, so a frame with
// thousands of points is a handful of draw calls.
type Renderer struct {
	regular, bold *text.GoTextFaceSource
	faces         map[faceKey]*text.GoTextFace
	white         *ebiten.Image
	dst           *ebiten.Image // of the Draw in progress
	texts         []*ui.Prim    // of the layer in progress
	vs            []ebiten.Vertex
	is            []uint16
	images        map[image.Image]*cachedImage // probe images, uploaded once
	frame         int
	// AntiAlias smooths the edges of shapes (off for speed on software
	// renderers is possible, on by default).
	AntiAlias bool
}

// cachedImage is a picture on the GPU and the frame it was last drawn.
type cachedImage struct {
	img  *ebiten.Image
	used int
}

// imageKeep is how many frames an image not drawn stays on the GPU.
const imageKeep = 600

type faceKey struct {
	size float64
	bold bool
}

// NewRenderer loads the Go fonts.
func NewRenderer() (*Renderer, error) {
	reg, err := text.NewGoTextFaceSource(bytes.NewReader(goregular.TTF))
	if err != nil {
		return nil, err
	}
	bold, err := text.NewGoTextFaceSource(bytes.NewReader(gobold.TTF))
	if err != nil {
		return nil, err
	}
	white := ebiten.NewImage(3, 3)
	white.Fill(color.White)
	return &Renderer{
		regular: reg, bold: bold, faces: map[faceKey]*text.GoTextFace{}, images: map[image.Image]*cachedImage{},
		white:     white.SubImage(image.Rect(1, 1, 2, 2)).(*ebiten.Image),
		AntiAlias: true,
	}, nil
}

func (r *Renderer) face(size float64, bold bool) *text.GoTextFace {
	k := faceKey{math.Round(size*2) / 2, bold}
	f := r.faces[k]
	if f == nil {
		src := r.regular
		if bold {
			src = r.bold
		}
		f = &text.GoTextFace{Source: src, Size: k.size}
		r.faces[k] = f
	}
	return f
}

// Measure is a ui.Measurer with the real fonts.
func (r *Renderer) Measure(s string, size float64, bold bool) float64 {
	return text.Advance(s, r.face(size, bold))
}

// Draw renders sc onto dst.
func (r *Renderer) Draw(dst *ebiten.Image, sc *ui.Scene) {
	r.dst = dst
	r.frame++
	r.vs, r.is = r.vs[:0], r.is[:0]
	r.texts = r.texts[:0]
	// Per layer: every shape in one batch, then every text (ebiten merges
	// consecutive glyph draws from one atlas), so a frame is a few draw
	// calls however many buttons and labels it has.
	endLayer := func() {
		r.flush()
		for _, p := range r.texts {
			r.text(dst, p)
		}
		r.texts = r.texts[:0]
	}
	for i := range sc.Prims {
		p := &sc.Prims[i]
		switch p.Kind {
		case ui.Layer:
			endLayer()
		case ui.Text:
			r.texts = append(r.texts, p)
		case ui.FillRect:
			if p.Radius > 0 {
				r.roundRect(p.R, p.Radius, p.Colour)
			} else {
				r.quad(p.R.X, p.R.Y, p.R.Right(), p.R.Y, p.R.Right(), p.R.Bottom(), p.R.X, p.R.Bottom(), p.Colour)
			}
		case ui.StrokeRect:
			w, q := p.Width, p.R
			r.quad(q.X, q.Y, q.Right(), q.Y, q.Right(), q.Y+w, q.X, q.Y+w, p.Colour)
			r.quad(q.X, q.Bottom()-w, q.Right(), q.Bottom()-w, q.Right(), q.Bottom(), q.X, q.Bottom(), p.Colour)
			r.quad(q.X, q.Y+w, q.X+w, q.Y+w, q.X+w, q.Bottom()-w, q.X, q.Bottom()-w, p.Colour)
			r.quad(q.Right()-w, q.Y+w, q.Right(), q.Y+w, q.Right(), q.Bottom()-w, q.Right()-w, q.Bottom()-w, p.Colour)
		case ui.Line:
			r.line(p.X, p.Y, p.X2, p.Y2, p.Width, p.Colour)
		case ui.Dot:
			r.disc(p.X, p.Y, p.Radius, p.Colour)
		case ui.Ring:
			r.ring(p.X, p.Y, p.Radius, p.Width, p.Colour)
		case ui.Image:
			r.flush() // the shapes under it first
			r.image(dst, p)
		case ui.Tri:
			base := r.reserve(3)
			r.vertex(p.X, p.Y, p.Colour)
			r.vertex(p.X2, p.Y2, p.Colour)
			r.vertex(p.X3, p.Y3, p.Colour)
			r.is = append(r.is, base, base+1, base+2)
		}
	}
	endLayer()
	r.dst = nil
	r.forget()
}

// image draws a picture into p.R with nearest-neighbour sampling: the
// pixels the network sees stay sharp squares.
func (r *Renderer) image(dst *ebiten.Image, p *ui.Prim) {
	if p.Image == nil || p.Image.Bounds().Empty() {
		return
	}
	c := r.images[p.Image]
	if c == nil {
		c = &cachedImage{img: ebiten.NewImageFromImage(p.Image)}
		r.images[p.Image] = c
	}
	c.used = r.frame
	b := c.img.Bounds()
	op := &ebiten.DrawImageOptions{Filter: ebiten.FilterNearest}
	op.GeoM.Scale(p.R.W/float64(b.Dx()), p.R.H/float64(b.Dy()))
	op.GeoM.Translate(p.R.X, p.R.Y)
	dst.DrawImage(c.img, op)
}

// forget frees the pictures not drawn for a while (the mouse moved on,
// or the probe set changed).
func (r *Renderer) forget() {
	if len(r.images) < 64 {
		return
	}
	for k, c := range r.images {
		if r.frame-c.used > imageKeep {
			c.img.Deallocate()
			delete(r.images, k)
		}
	}
}

func (r *Renderer) text(dst *ebiten.Image, p *ui.Prim) {
	op := &text.DrawOptions{}
	op.GeoM.Translate(p.X, p.Y)
	op.ColorScale.ScaleWithColor(p.Colour)
	switch p.Align {
	case ui.AlignCenter:
		op.PrimaryAlign = text.AlignCenter
	case ui.AlignRight:
		op.PrimaryAlign = text.AlignEnd
	}
	op.SecondaryAlign = text.AlignCenter
	text.Draw(dst, p.Text, r.face(p.Size, p.Bold), op)
}

// reserve makes room for n more vertices, flushing first if the 16-bit
// indices would overflow, and returns the index of the first.
func (r *Renderer) reserve(n int) uint16 {
	if len(r.vs)+n >= math.MaxUint16 {
		r.flush()
	}
	return uint16(len(r.vs))
}

func (r *Renderer) vertex(x, y float64, c color.RGBA) {
	a := float32(c.A) / 255
	r.vs = append(r.vs, ebiten.Vertex{
		DstX: float32(x), DstY: float32(y), SrcX: 1, SrcY: 1,
		// premultiplied, as ColorScaleModePremultipliedAlpha expects
		ColorR: float32(c.R) / 255 * a, ColorG: float32(c.G) / 255 * a, ColorB: float32(c.B) / 255 * a, ColorA: a,
	})
}

func (r *Renderer) flush() {
	if len(r.is) == 0 {
		r.vs = r.vs[:0]
		return
	}
	op := &ebiten.DrawTrianglesOptions{ColorScaleMode: ebiten.ColorScaleModePremultipliedAlpha, AntiAlias: r.AntiAlias}
	r.dst.DrawTriangles(r.vs, r.is, r.white, op)
	r.vs, r.is = r.vs[:0], r.is[:0]
}

func (r *Renderer) quad(x0, y0, x1, y1, x2, y2, x3, y3 float64, c color.RGBA) {
	b := r.reserve(4)
	r.vertex(x0, y0, c)
	r.vertex(x1, y1, c)
	r.vertex(x2, y2, c)
	r.vertex(x3, y3, c)
	r.is = append(r.is, b, b+1, b+2, b, b+2, b+3)
}

func (r *Renderer) line(x0, y0, x1, y1, w float64, c color.RGBA) {
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	nx, ny := -dy/l*w/2, dx/l*w/2
	r.quad(x0+nx, y0+ny, x1+nx, y1+ny, x1-nx, y1-ny, x0-nx, y0-ny, c)
}

// segments is how many sides a circle of radius rad needs to look round.
func segments(rad float64) int {
	return int(math.Min(48, math.Max(10, rad*2.5)))
}

func (r *Renderer) disc(x, y, rad float64, c color.RGBA) {
	n := segments(rad)
	b := r.reserve(n + 1)
	r.vertex(x, y, c)
	for i := range n {
		t := 2 * math.Pi * float64(i) / float64(n)
		r.vertex(x+rad*math.Cos(t), y+rad*math.Sin(t), c)
	}
	for i := range n {
		r.is = append(r.is, b, b+1+uint16(i), b+1+uint16((i+1)%n))
	}
}

func (r *Renderer) ring(x, y, rad, w float64, c color.RGBA) {
	n := segments(rad)
	b := r.reserve(2 * n)
	ri, ro := math.Max(0, rad-w/2), rad+w/2
	for i := range n {
		t := 2 * math.Pi * float64(i) / float64(n)
		cs, sn := math.Cos(t), math.Sin(t)
		r.vertex(x+ri*cs, y+ri*sn, c)
		r.vertex(x+ro*cs, y+ro*sn, c)
	}
	for i := range n {
		j := (i + 1) % n
		i0, o0, i1, o1 := b+uint16(2*i), b+uint16(2*i+1), b+uint16(2*j), b+uint16(2*j+1)
		r.is = append(r.is, i0, o0, o1, i0, o1, i1)
	}
}

// roundRect fills a rectangle with rounded corners as one convex fan.
func (r *Renderer) roundRect(q ui.Rect, rad float64, c color.RGBA) {
	rad = math.Min(rad, math.Min(q.W, q.H)/2)
	if rad <= 0.5 {
		r.quad(q.X, q.Y, q.Right(), q.Y, q.Right(), q.Bottom(), q.X, q.Bottom(), c)
		return
	}
	const k = 6 // segments per corner
	b := r.reserve(4*(k+1) + 1)
	r.vertex(q.CX(), q.CY(), c)
	corners := [4][3]float64{
		{q.Right() - rad, q.Bottom() - rad, 0},
		{q.X + rad, q.Bottom() - rad, math.Pi / 2},
		{q.X + rad, q.Y + rad, math.Pi},
		{q.Right() - rad, q.Y + rad, 3 * math.Pi / 2},
	}
	for _, cn := range corners {
		for i := 0; i <= k; i++ {
			t := cn[2] + math.Pi/2*float64(i)/k
			r.vertex(cn[0]+rad*math.Cos(t), cn[1]+rad*math.Sin(t), c)
		}
	}
	n := uint16(4 * (k + 1))
	for i := uint16(0); i < n; i++ {
		r.is = append(r.is, b, b+1+i, b+1+(i+1)%n)
	}
}
