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

// Shapes generates the embedded default dataset: 32×32 RGB images of
// ShapeClasses drawn at random position, scale, aspect, rotation and colour
// on textured two-colour backgrounds.
//
// The variation is deliberately strong so that nearest neighbours in pixel
// space mostly match colour and layout rather than shape, while the shape
// stays large and anti-aliased enough for a small CNN trained with crop and
// colour augmentations to recognise it. Each image is drawn from its own
// random stream keyed by (seed, split, index), so the output is identical
// however many CPUs render it. (Builds that fuse multiply-adds, such as
// arm64 or GOAMD64=v3, may round a rare pixel differently.)
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

// shapeRenderer holds per-goroutine scratch so rendering does not allocate.
type shapeRenderer struct {
	bgNoise, fgNoise valueNoise
}

func (r *shapeRenderer) render(dst []uint8, shape, colour int, rng *rand.Rand) {
	const n = ShapesSize
	fg := hsv(colourHues[colour]+(2*rng.Float64()-1)*hueJitter, 0.55+0.45*rng.Float64(), 0.55+0.45*rng.Float64())
	bg0, bg1 := background(fg, rng), background(fg, rng)

	// Background: a linear gradient between two colours at a random angle,
	// modulated in brightness by smooth value noise.
	ga := 2 * math.Pi * rng.Float64()
	gx, gy := math.Cos(ga)/n, math.Sin(ga)/n
	r.bgNoise.init(3+rng.IntN(4), 0.05+0.2*rng.Float64(), rng)

	// Foreground texture: flat, stripes or blotches.
	tex := rng.IntN(3)
	ta, sa := 0.1+0.2*rng.Float64(), 2*math.Pi*rng.Float64()
	sf := 2 * math.Pi / (4 + 6*rng.Float64()) // stripe period 4–10 px
	sx, sy, sp := math.Cos(sa)*sf, math.Sin(sa)*sf, 2*math.Pi*rng.Float64()
	r.fgNoise.init(3+rng.IntN(4), ta, rng)

	// Placement: radius 6.5–13 px (the shape spans 40–80% of the image),
	// mild anisotropy, any rotation, centre chosen so at most ~15% of the
	// radius leaves the frame.
	rad := 6.5 + 6.5*rng.Float64()
	asp := 0.85 + 0.3*rng.Float64()
	ax, ay := rad*asp, rad/asp
	ext := max(ax, ay)
	cx := 0.85*ext + (n-1.7*ext)*rng.Float64()
	cy := 0.85*ext + (n-1.7*ext)*rng.Float64()
	rot := 2 * math.Pi * rng.Float64()
	cr, sr := math.Cos(rot), math.Sin(rot)
	reach := (ext + 1) * (ext + 1) // every shape lies inside the unit disc
	pxPerUnit := min(ax, ay)
	sigma := 0.01 + 0.04*rng.Float64()

	for y := range n {
		for x := range n {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := min(max(0.5+(px-n/2)*gx+(py-n/2)*gy, 0), 1)
			bn := 1 + r.bgNoise.at(px/n, py/n)
			var c rgb
			for k := range c {
				c[k] = (bg0[k] + (bg1[k]-bg0[k])*t) * bn
			}
			dx, dy := px-cx, py-cy
			if dx*dx+dy*dy < reach {
				u := (cr*dx + sr*dy) / ax
				v := (-sr*dx + cr*dy) / ay
				// Signed distance → coverage of a one-pixel box: cheap,
				// exact enough anti-aliasing at 32 px.
				cov := min(max(0.5-shapeSDF(shape, u, v)*pxPerUnit, 0), 1)
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
			}
			noise := rng.Uint64()
			for k := range c {
				dst[(k*n+y)*n+x] = toByte(c[k] + sigma*approxNormal(noise>>(21*k)))
			}
		}
	}
}

// background draws a random colour far enough from fg that the shape stays
// visible; after a few failures it takes a dark or light grey, whichever is
// further from fg.
func background(fg rgb, rng *rand.Rand) rgb {
	for range 20 {
		c := hsv(360*rng.Float64(), 0.8*rng.Float64(), 0.1+0.85*rng.Float64())
		if dist(c, fg) > 0.45 {
			return c
		}
	}
	dark, light := rgb{0.12, 0.12, 0.12}, rgb{0.9, 0.9, 0.9}
	if dist(dark, fg) > dist(light, fg) {
		return dark
	}
	return light
}

func dist(a, b rgb) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
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
