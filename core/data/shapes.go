package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ShapesConfig sizes the procedural "shapes" dataset. Zero values select the
// defaults (20000 train, 2000 test, seed 1).
type ShapesConfig struct {
	TrainN, TestN int
	Seed          uint64
}

// ShapesSize is the side of a shapes image in pixels.
const ShapesSize = 32

// ShapeClasses are the semantic classes of the shapes dataset (label set
// "shape"). None is a rotation of another (no diamond next to square), so the
// class is defined by the outline alone.
var ShapeClasses = []string{
	"circle", "square", "triangle", "cross", "star",
	"ring", "heart", "arrow", "crescent", "hourglass",
}

// ColourClasses name the foreground hues (label set "colour"): a nuisance
// factor a colour-invariant representation should ignore.
var ColourClasses = []string{"red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink"}

// colourHues are the hue centres (degrees) of ColourClasses; images jitter
// the hue by ±hueJitter, which keeps neighbouring names apart.
var colourHues = []float64{0, 30, 55, 120, 180, 225, 275, 320}

const hueJitter = 8

// Shapes generates the embedded default dataset: 32×32 RGB images, each
// showing three or four copies of one of ShapeClasses in one colour, at
// random positions, sizes and rotations on a darker, softly textured
// background.
//
// The layout is what defeats nearest neighbours in pixel space: with the
// copies scattered anew in every image, two images of the same shape share
// few foreground pixels, so pixel neighbours mostly match the colour. A
// convolutional encoder sees the same local outline (corners, curves, tips)
// wherever a copy lies, and crops keep at least part of one, so learning
// invariance to crop, rotation and colour finds the shape. All colours have
// the same luma: the colour is in the hue alone, which colour jitter
// randomises, and left alone it is the shortcut BYOL takes. Each image is
// drawn from its own random stream keyed by (seed, split, index), so the
// output is identical however many CPUs render it. (Builds that fuse
// multiply-adds, such as arm64 or GOAMD64=v3, may round a rare pixel
// differently.)
func Shapes(cfg ShapesConfig) (*Dataset, error) {
	if cfg.TrainN < 0 || cfg.TestN < 0 {
		return nil, fmt.Errorf("data: shapes: negative image count (train %d, test %d)", cfg.TrainN, cfg.TestN)
	}
	if cfg.TrainN == 0 {
		cfg.TrainN = 20000
	}
	if cfg.TestN == 0 {
		cfg.TestN = 2000
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	return &Dataset{
		Name:  "shapes",
		Train: shapesSplit(cfg.TrainN, cfg.Seed, 0),
		Test:  shapesSplit(cfg.TestN, cfg.Seed, 1),
	}, nil
}

func shapesSplit(n int, seed, split uint64) *Split {
	const size = ShapesSize * ShapesSize * 3
	s := &Split{
		N: n, C: 3, H: ShapesSize, W: ShapesSize,
		Pix: make([]uint8, n*size),
		Labels: []LabelSet{
			{Name: "shape", Classes: slices.Clone(ShapeClasses), Y: make([]int32, n)},
			{Name: "colour", Classes: slices.Clone(ColourClasses), Y: make([]int32, n)},
		},
	}
	parallelFor(n, func(lo, hi int) {
		var r shapeRenderer
		for i := lo; i < hi; i++ {
			rng := rand.New(rand.NewPCG(seed, split<<40|uint64(i)))
			// Cycling the shape keeps classes exactly balanced, also in any
			// prefix of the split; the colour is drawn independently.
			shape := i % len(ShapeClasses)
			colour := rng.IntN(len(ColourClasses))
			s.Labels[0].Y[i] = int32(shape)
			s.Labels[1].Y[i] = int32(colour)
			r.render(s.Pix[i*size:(i+1)*size], shape, colour, rng)
		}
	})
	return s
}

type rgb [3]float64

// maxCopies bounds the copies of the shape in one image.
const maxCopies = 4

// shapeCopy is one placed copy: centre, semi-axes (px), rotation, and the
// squared radius outside which it cannot cover a pixel.
type shapeCopy struct {
	cx, cy, ax, ay, cos, sin, reach float64
}

// shapeRenderer holds per-goroutine scratch so rendering does not allocate.
type shapeRenderer struct {
	bgNoise, fgNoise valueNoise
	copies           [maxCopies]shapeCopy
}

func (r *shapeRenderer) render(dst []uint8, shape, colour int, rng *rand.Rand) {
	const n = ShapesSize
	// Foreground at a fixed luma, above the background's: the outline
	// shows in every channel and in grayscale views, and a hue-blind
	// outline detector sees every colour alike. (With luma tied to hue,
	// yellow bright and blue dark, and with only vivid colours, the learned
	// features kept the colour even under full hue jitter.)
	fg := hsv(colourHues[colour]+(2*rng.Float64()-1)*hueJitter, 0.4+0.6*rng.Float64(), 0.8+0.2*rng.Float64())
	fg = withLuma(fg, 0.5+0.1*rng.Float64())
	bg0, bg1 := background(rng, colour), background(rng, colour)

	// Background: a linear gradient between two colours at a random angle,
	// modulated in brightness by smooth value noise too coarse to look like
	// an outline.
	ga := 2 * math.Pi * rng.Float64()
	gx, gy := math.Cos(ga)/n, math.Sin(ga)/n
	r.bgNoise.init(3+rng.IntN(4), 0.05+0.1*rng.Float64(), rng)

	// Foreground texture: flat, stripes or blotches, mild enough that the
	// outline stays the strongest edge.
	tex := rng.IntN(3)
	ta, sa := 0.05+0.1*rng.Float64(), 2*math.Pi*rng.Float64()
	sf := 2 * math.Pi / (4 + 6*rng.Float64()) // stripe period 4–10 px
	sx, sy, sp := math.Cos(sa)*sf, math.Sin(sa)*sf, 2*math.Pi*rng.Float64()
	r.fgNoise.init(3+rng.IntN(4), ta, rng)

	copies := r.place(rng)

	for y := range n {
		for x := range n {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := min(max(0.5+(px-n/2)*gx+(py-n/2)*gy, 0), 1)
			bn := 1 + r.bgNoise.at(px/n, py/n)
			var c rgb
			for k := range c {
				c[k] = (bg0[k] + (bg1[k]-bg0[k])*t) * bn
			}
			cov := 0.0
			for i := range copies {
				s := &copies[i]
				dx, dy := px-s.cx, py-s.cy
				if dx*dx+dy*dy < s.reach {
					u := (s.cos*dx + s.sin*dy) / s.ax
					v := (-s.sin*dx + s.cos*dy) / s.ay
					// Signed distance → coverage of a one-pixel box:
					// cheap, exact enough anti-aliasing at 32 px.
					cov = max(cov, min(max(0.5-shapeSDF(shape, u, v)*min(s.ax, s.ay), 0), 1))
				}
			}
			if cov > 0 {
				f := 1.0
				switch tex {
				case 1:
					f += ta * math.Sin(px*sx+py*sy+sp)
				case 2:
					f += r.fgNoise.at(px/n, py/n)
				}
				for k := range c {
					c[k] += (fg[k]*f - c[k]) * cov
				}
			}
			// A fixed noise level: one that varied per image would be a
			// cue that survives every augmentation but blur.
			noise := rng.Uint64()
			for k := range c {
				dst[(k*n+y)*n+x] = toByte(c[k] + 0.02*approxNormal(noise>>(21*k)))
			}
		}
	}
}

// place scatters three or four copies of the shape, radius 4–7 px, mild
// anisotropy, any rotation, no two overlapping and at most ~15% of a radius
// outside the frame. A candidate that collides is redrawn, a bounded number
// of times, so a crowded image keeps fewer copies (2% two, rarely one).
func (r *shapeRenderer) place(rng *rand.Rand) []shapeCopy {
	const n = ShapesSize
	want := 3 + rng.IntN(2)
	placed := 0
	for range 50 {
		if placed == want {
			break
		}
		rad := 4 + 3*rng.Float64()
		asp := 0.9 + 0.2*rng.Float64()
		ax, ay := rad*asp, rad/asp
		ext := max(ax, ay)
		cx := 0.85*ext + (n-1.7*ext)*rng.Float64()
		cy := 0.85*ext + (n-1.7*ext)*rng.Float64()
		rot := 2 * math.Pi * rng.Float64()
		free := true
		for _, o := range r.copies[:placed] {
			// Every shape lies inside its unit disc: discs a pixel apart
			// never touch.
			if math.Hypot(o.cx-cx, o.cy-cy) < ext+max(o.ax, o.ay)+1 {
				free = false
				break
			}
		}
		if free {
			r.copies[placed] = shapeCopy{cx, cy, ax, ay, math.Cos(rot), math.Sin(rot), (ext + 1) * (ext + 1)}
			placed++
		}
	}
	return r.copies[:placed]
}

// background draws a dark colour whose hue is at least 40° from the shape's
// colour, so the shapes stand out also in hue. Its brightness varies enough
// that the colour of an image is not all foreground, but not from black to
// white: with such backgrounds BYOL learned to match views by background
// brightness instead of shape.
func background(rng *rand.Rand, colour int) rgb {
	for {
		h := 360 * rng.Float64()
		if d := math.Abs(math.Mod(h-colourHues[colour]+540, 360) - 180); d > 40 {
			return hsv(h, 0.2+0.4*rng.Float64(), 0.1+0.3*rng.Float64())
		}
	}
}

// withLuma darkens c, or mixes it with white, to luma y (the weights of
// augment's grayscale).
func withLuma(c rgb, y float64) rgb {
	l := 0.299*c[0] + 0.587*c[1] + 0.114*c[2]
	if l >= y {
		for k := range c {
			c[k] *= y / l
		}
		return c
	}
	t := (y - l) / (1 - l)
	for k := range c {
		c[k] += t * (1 - c[k])
	}
	return c
}

// hsv converts hue (degrees, any range), saturation and value in [0,1] to RGB.
func hsv(h, s, v float64) rgb {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	h /= 60
	i := int(h)
	f := h - float64(i)
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	switch i {
	case 0:
		return rgb{v, t, p}
	case 1:
		return rgb{q, v, p}
	case 2:
		return rgb{p, v, t}
	case 3:
		return rgb{p, q, v}
	case 4:
		return rgb{t, p, v}
	default:
		return rgb{v, p, q}
	}
}

// approxNormal turns 21 random bits into a sum of three 7-bit uniforms with
// zero mean and unit variance: close enough to Gaussian for pixel noise, and
// one random draw then serves all three channels of a pixel.
func approxNormal(bits uint64) float64 {
	s := bits&0x7f + bits>>7&0x7f + bits>>14&0x7f
	return (float64(s) + 1.5 - 3*64) * (2.0 / 128)
}

// toByte maps [0,1] to a rounded byte, clamping. Plain comparisons: the
// built-in min/max on floats handle NaN and signed zeros and cost far more
// in this innermost loop.
func toByte(v float64) uint8 {
	v = v*255 + 0.5
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// valueNoise is smooth noise: a g×g grid of random values in [-amp, amp]
// interpolated bilinearly over the unit square.
type valueNoise struct {
	g    int
	grid [8 * 8]float64
}

func (vn *valueNoise) init(g int, amp float64, rng *rand.Rand) {
	vn.g = g
	for i := range g * g {
		vn.grid[i] = amp * (2*rng.Float64() - 1)
	}
}

func (vn *valueNoise) at(x, y float64) float64 {
	fx, fy := x*float64(vn.g-1), y*float64(vn.g-1)
	ix, iy := min(int(fx), vn.g-2), min(int(fy), vn.g-2)
	tx, ty := fx-float64(ix), fy-float64(iy)
	g := vn.grid[iy*vn.g+ix:]
	top := g[0] + (g[1]-g[0])*tx
	bot := g[vn.g] + (g[vn.g+1]-g[vn.g])*tx
	return top + (bot-top)*ty
}
