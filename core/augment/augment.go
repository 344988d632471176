// Package augment makes BYOL's two augmented views of a batch on the CPU.
//
// The paper draws t ~ T and t' ~ T' per image; here T and T' are the two
// Pipelines of a Config, every transform is switchable on its own, Preset
// gives per-dataset defaults, and all randomness is a pure function of
// (seed, step, dataset index, view) so runs replay exactly (see rng.go).
package augment

import (
	"fmt"

	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// Augmenter writes augmented, normalised float32 views of 8-bit images.
// After New it does not allocate. It is not safe for concurrent use: call
// SetConfig between Views calls, not during them.
type Augmenter struct {
	c, h, w   int // output (model) image size
	cfg       Config
	mean, std []float32 // per channel, len c
	pool      *parallel.Pool
	scratch   chan *scratch // one per pool thread; a running range borrows one
	task      task
}

// scratch is one worker's buffers.
type scratch struct {
	tmp    []float32 // blur's intermediate image
	xs, ys []tap     // bilinear taps per output column and row
}

// New returns an Augmenter producing c×h×w images. pool may be nil for
// parallel.Default().
func New(cfg Config, c, h, w int, pool *parallel.Pool) (*Augmenter, error) {
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("augment: %d channels (want 1 or 3)", c)
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("augment: image size %dx%d must be positive", h, w)
	}
	if pool == nil {
		pool = parallel.Default()
	}
	a := &Augmenter{c: c, h: h, w: w, pool: pool,
		mean: make([]float32, c), std: make([]float32, c),
		scratch: make(chan *scratch, pool.Threads())}
	if err := a.SetConfig(cfg); err != nil {
		return nil, err
	}
	for range pool.Threads() {
		a.scratch <- &scratch{tmp: make([]float32, c*h*w), xs: make([]tap, w), ys: make([]tap, h)}
	}
	a.task.a = a
	return a, nil
}

// SetConfig validates cfg and makes it the config of later calls. On error the
// old config stays. It does not allocate, so a live UI knob can call it.
func (a *Augmenter) SetConfig(cfg Config) error {
	if err := cfg.Validate(a.c); err != nil {
		return err
	}
	for ch := range a.c {
		i := min(ch, len(cfg.Normalize.Mean)-1) // one value applies to all channels
		a.mean[ch] = float32(cfg.Normalize.Mean[i])
		a.std[ch] = float32(cfg.Normalize.Std[i])
	}
	// Keep our own copy of the slices so the caller may reuse theirs.
	cfg.Normalize = Normalize{}
	a.cfg = cfg
	return nil
}

// Config returns the current config.
func (a *Augmenter) Config() Config {
	cfg := a.cfg
	cfg.Normalize = Normalize{Mean: make([]float64, a.c), Std: make([]float64, a.c)}
	for ch := range a.c {
		cfg.Normalize.Mean[ch] = float64(a.mean[ch])
		cfg.Normalize.Std[ch] = float64(a.std[ch])
	}
	return cfg
}

// Size returns the output image shape.
func (a *Augmenter) Size() (c, h, w int) { return a.c, a.h, a.w }

// Views writes view (0 for T, 1 for T') of the images idx of split into dst:
// len(idx) images of c×h×w float32, CHW, normalised, back to back. Each image's
// randomness comes from SampleKey(seed, step, idx[i], view) only, so the
// result does not depend on the pool's thread count, and an index repeated
// within a batch gets the same view.
func (a *Augmenter) Views(dst []float32, split *data.Split, idx []int, view int, seed, step uint64) {
	if view != 0 && view != 1 {
		panic(fmt.Sprintf("augment: view %d (want 0 or 1)", view))
	}
	a.run(dst, split, idx, view, seed, step)
}

// Plain writes the images idx of split converted to [0,1] and normalised,
// without augmentation (resized only if the split's size differs from the
// model's), for evaluation and probe embeddings.
func (a *Augmenter) Plain(dst []float32, split *data.Split, idx []int) {
	a.run(dst, split, idx, -1, 0, 0)
}

func (a *Augmenter) run(dst []float32, split *data.Split, idx []int, view int, seed, step uint64) {
	if split.C != a.c {
		panic(fmt.Sprintf("augment: split has %d channels, augmenter %d", split.C, a.c))
	}
	if need := len(idx) * a.c * a.h * a.w; len(dst) < need {
		panic(fmt.Sprintf("augment: dst has %d floats, %d images need %d", len(dst), len(idx), need))
	}
	for _, i := range idx { // check here: a panic inside a pool worker cannot be recovered
		if i < 0 || i >= split.N {
			panic(fmt.Sprintf("augment: image index %d outside split of %d", i, split.N))
		}
	}
	t := &a.task
	t.dst, t.split, t.idx, t.view, t.seed, t.step = dst, split, idx, view, seed, step
	a.pool.For(len(idx), 4, t)
	t.dst, t.split, t.idx = nil, nil, nil // do not keep the caller's memory alive
}

// task is the parallel loop body; it lives in the Augmenter so that passing
// it to the pool does not allocate.
type task struct {
	a          *Augmenter
	dst        []float32
	split      *data.Split
	idx        []int
	view       int // -1: plain
	seed, step uint64
}

func (t *task) Run(lo, hi int) {
	a := t.a
	s := <-a.scratch
	size := a.c * a.h * a.w
	for i := lo; i < hi; i++ {
		out := t.dst[i*size : (i+1)*size]
		src := t.split.Image(t.idx[i])
		if t.view < 0 {
			a.plain(out, src, t.split.H, t.split.W, s)
		} else {
			key := SampleKey(t.seed, t.step, t.idx[i], t.view)
			a.augment(out, src, t.split.H, t.split.W, &a.cfg.Views[t.view], key, s)
		}
	}
	a.scratch <- s
}

func (a *Augmenter) plain(out []float32, src []uint8, sh, sw int, s *scratch) {
	a.load(out, src, sh, sw, box{0, 0, sh, sw}, s)
	normalize(out, a.h*a.w, a.mean, a.std)
}

// load writes box b of the source, resized to the model's size, into out.
func (a *Augmenter) load(out []float32, src []uint8, sh, sw int, b box, s *scratch) {
	if b == (box{0, 0, a.h, a.w}) && sh == a.h && sw == a.w {
		toFloat(out, src) // the common uncropped case is a plain copy
		return
	}
	resize(out, src, a.c, sh, sw, b, a.h, a.w, s.xs, s.ys)
}

// augment runs one pipeline on one image: draw every parameter first (see
// Params), then apply them in pipeline order.
func (a *Augmenter) augment(out []float32, src []uint8, sh, sw int, p *Pipeline, key uint64, s *scratch) {
	c, h, w, n := a.c, a.h, a.w, a.h*a.w
	var d Params
	d.Draw(p, key, sh, sw)

	a.load(out, src, sh, sw, box{d.Top, d.Left, d.H, d.W}, s)
	if d.Rotate {
		rotateCS(out, s.tmp, c, h, w, d.Cos, d.Sin)
	}
	if d.Flip {
		flip(out, h, w)
	}
	d.applyJitter(out, c, n)
	if d.Gray {
		grayscale(out, c, n)
	}
	if d.Blur > 0 {
		blur(out, s.tmp, c, h, w, d.Kernel[:d.Blur])
	}
	if d.Solarize {
		solarize(out, d.Threshold)
	}
	if d.Noise {
		r := stream{key: d.NoiseKey, n: 1} // draw 1 was the coin
		addNoise(out, &r, d.NoiseStd)
	}
	normalize(out, n, a.mean, a.std)
}

// jitter draws colour jitter's factors and applies them (see Params).
func jitter(img []float32, c, n int, j *Jitter, r *stream) {
	var d Params
	d.drawJitter(j, r)
	d.applyJitter(img, c, n)
}

// applyJitter applies the drawn jitter ops in their drawn order, each
// clamping to [0,1] as torchvision does.
func (d *Params) applyJitter(img []float32, c, n int) {
	for _, op := range d.Jitter[:d.NJitter] {
		switch op {
		case 0:
			brightness(img, d.Brightness)
		case 1:
			contrast(img, c, n, d.Contrast)
		case 2:
			saturation(img, c, n, d.Saturation)
		case 3:
			hue(img, c, n, d.HueFactor)
		}
	}
}
