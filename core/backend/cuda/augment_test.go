//go:build cuda || cudaemu

package cuda_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/byol-lab/byol-lab/core/augment"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// The device augmenter against the CPU Augmenter: same config, same
// (seed, step, index, view), so the same draws; the views must agree.

// augSplit is n images of c×h×w: a few flat rectangles on a flat background
// (edges, like shapes) plus mild per-pixel noise (texture for blur and hue).
func augSplit(n, c, h, w int) *data.Split {
	r := rand.New(rand.NewPCG(uint64(n*c), uint64(h*w)))
	s := &data.Split{N: n, C: c, H: h, W: w, Pix: make([]uint8, n*c*h*w)}
	for i := range n {
		img := s.Image(i)
		for k := range 4 {
			y0, x0 := r.IntN(h), r.IntN(w)
			y1, x1 := y0+r.IntN(h-y0)+1, x0+r.IntN(w-x0)+1
			if k == 0 {
				y0, x0, y1, x1 = 0, 0, h, w
			}
			for ch := range c {
				col := r.IntN(256)
				for y := y0; y < y1; y++ {
					for x := x0; x < x1; x++ {
						img[(ch*h+y)*w+x] = uint8(min(255, max(0, col+r.IntN(17)-8)))
					}
				}
			}
		}
	}
	return s
}

// onlyTransform is cfg with every transform off but name, applied always.
func onlyTransform(t *testing.T, cfg augment.Config, name string) augment.Config {
	t.Helper()
	for _, other := range augment.Transforms {
		if err := cfg.Disable(other); err != nil {
			t.Fatal(err)
		}
	}
	ref, _ := augment.Preset("shapes") // has a usable block for every transform
	if err := cfg.Enable(name, ref); err != nil {
		t.Fatal(err)
	}
	for v := range cfg.Views {
		p := &cfg.Views[v]
		p.Crop.P, p.Rotate.P, p.Flip.P, p.Jitter.P, p.Grayscale.P, p.Blur.P, p.Solarize.P, p.Noise.P = 1, 1, 1, 1, 1, 1, 1, 1
	}
	return cfg
}

// augCase is one comparison: a config on a split, made c×h×w.
type augCase struct {
	name    string
	cfg     augment.Config
	split   *data.Split
	c, h, w int
}

// Repeated indices must get the same view; the batch is small because the
// emulator runs one OS thread per CUDA thread.
var augIdx = []int{3, 0, 3, 5, 1, 3}

// compareViews runs views 0 and 1 at a few steps, and Plain, on both sides.
func compareViews(t *testing.T, p *pair, tc augCase) {
	t.Helper()
	cpu, err := augment.New(tc.cfg, tc.c, tc.h, tc.w, parallel.New(2))
	if err != nil {
		t.Fatal(err)
	}
	dev, err := p.dev.NewAugmenter(tc.split, tc.cfg, tc.c, tc.h, tc.w)
	if err != nil {
		t.Fatal(err)
	}
	size := tc.c * tc.h * tc.w
	ref := make([]float32, len(augIdx)*size)
	got := make([]float32, len(ref))
	buf := p.dev.Alloc(len(ref))
	var st viewStats
	for _, step := range []uint64{0, 7, 1 << 40} {
		for view := range 2 {
			cpu.Views(ref, tc.split, augIdx, view, 42, step)
			p.dev.Fill(buf, float32(math.NaN())) // a pixel the kernel skips fails
			dev.Views(buf, augIdx, view, 42, step)
			p.dev.Download(got, buf)
			st.check(t, fmt.Sprintf("%s view %d step %d", tc.name, view, step), got, ref)
		}
	}
	cpu.Plain(ref, tc.split, augIdx)
	p.dev.Fill(buf, float32(math.NaN()))
	dev.Plain(buf, augIdx)
	p.dev.Download(got, buf)
	st.check(t, tc.name+" plain", got, ref)
	t.Logf("%s: %d of %d exact, %d over %g, max |gpu−cpu| %.2g", tc.name, st.exact, st.n, st.bad, augTol, st.worst)
}

// augTol is the largest difference allowed on all but 0.1 % of the
// elements. The kernel rounds every float operation as the CPU does, so the
// views are expected to match exactly (they do on the emulator); what may
// differ on a GPU is the noise (CUDA's log/sin/cos against Go's, a last-bit
// difference in float64 before the rounding to float32) and contrast's mean
// (a tree sum against the CPU's sequential one, both in float64). A
// last-bit change in the mean can flip a later discrete decision —
// solarize's x ≥ t — for a pixel sitting on it, hence the few elements
// allowed to differ by more.
const augTol = 1e-4

// viewStats sums the comparisons of one case.
type viewStats struct {
	n, exact, bad int
	worst         float64
}

func (st *viewStats) check(t *testing.T, name string, got, ref []float32) {
	t.Helper()
	bad := 0
	for i := range ref {
		if math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: element %d of %d is NaN on the device (cpu %v)", name, i, len(ref), ref[i])
		}
		d := math.Abs(float64(got[i]) - float64(ref[i]))
		st.worst = max(st.worst, d)
		if d > augTol {
			bad++
		}
		if got[i] == ref[i] {
			st.exact++
		}
	}
	st.n += len(ref)
	st.bad += bad
	if bad > len(ref)/1000 {
		t.Errorf("%s: %d of %d elements differ by more than %g (max %.3g so far)", name, bad, len(ref), augTol, st.worst)
	}
}

func TestAugmentEachTransform(t *testing.T) {
	p := newPair(t)
	rgb, _ := augment.Preset("shapes")
	gray, _ := augment.Preset("mnist")
	for _, sz := range []struct {
		name    string
		cfg     augment.Config
		split   *data.Split
		c, h, w int
	}{
		{"rgb 32", rgb, augSplit(6, 3, 32, 32), 3, 32, 32},
		{"rgb 24x40→32", rgb, augSplit(6, 3, 24, 40), 3, 32, 32},
		{"gray 28", gray, augSplit(6, 1, 28, 28), 1, 28, 28},
	} {
		for _, name := range augment.Transforms {
			compareViews(t, p, augCase{sz.name + " " + name, onlyTransform(t, sz.cfg, name), sz.split, sz.c, sz.h, sz.w})
		}
	}
}

func TestAugmentPresets(t *testing.T) {
	p := newPair(t)
	shapes, _ := augment.Preset("shapes")
	mnist, _ := augment.Preset("mnist")
	cifar, _ := augment.Preset("cifar10")
	all := shapes // every transform on every sample, noise too
	for v := range all.Views {
		q := &all.Views[v]
		q.Crop.P, q.Rotate.P, q.Flip.P, q.Jitter.P, q.Grayscale.P, q.Blur.P, q.Solarize.P = 1, 1, 1, 1, 0.5, 1, 1
		q.Noise.Enabled, q.Noise.P = true, 1
	}
	for _, tc := range []augCase{
		{"shapes", shapes, augSplit(6, 3, 32, 32), 3, 32, 32},
		{"cifar10", cifar, augSplit(6, 3, 32, 32), 3, 32, 32},
		{"all on", all, augSplit(6, 3, 32, 32), 3, 32, 32},
		{"mnist", mnist, augSplit(6, 1, 28, 28), 1, 28, 28},
		{"mnist 20→28", mnist, augSplit(6, 1, 20, 20), 1, 28, 28},
		// 3×40×40 does not fit the shared-memory kernel: the global one runs.
		{"shapes 32→40 global", all, augSplit(6, 3, 32, 32), 3, 40, 40},
	} {
		compareViews(t, p, tc)
	}
}

func TestAugmentSetConfig(t *testing.T) {
	p := newPair(t)
	cfg, _ := augment.Preset("shapes")
	s := augSplit(6, 3, 16, 16)
	if _, err := p.dev.NewAugmenter(s, cfg, 1, 16, 16); err == nil {
		t.Error("NewAugmenter accepted a 3-channel split for 1 channel")
	}
	dev, err := p.dev.NewAugmenter(s, cfg, 3, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	bad := cfg
	bad.Views[0].Flip.P = 2
	if err := dev.SetConfig(bad); err == nil {
		t.Fatal("SetConfig accepted flip p=2")
	}
	// The failed call kept the old config: the views still match the CPU's.
	cpu, err := augment.New(cfg, 3, 16, 16, parallel.New(1))
	if err != nil {
		t.Fatal(err)
	}
	ref := make([]float32, len(augIdx)*3*16*16)
	got := make([]float32, len(ref))
	buf := p.dev.Alloc(len(ref))
	var st viewStats
	cpu.Views(ref, s, augIdx, 0, 1, 2)
	dev.Views(buf, augIdx, 0, 1, 2)
	p.dev.Download(got, buf)
	st.check(t, "after a failed SetConfig", got, ref)

	cfg.Views[0].Jitter.Enabled = false
	cfg.Normalize = augment.Normalize{Mean: []float64{0.1, 0.2, 0.3}, Std: []float64{0.5, 0.6, 0.7}}
	if err := dev.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cpu.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	cpu.Views(ref, s, augIdx, 0, 1, 2)
	dev.Views(buf, augIdx, 0, 1, 2)
	p.dev.Download(got, buf)
	st.check(t, "after SetConfig", got, ref)
}

func TestAugmentNoAllocs(t *testing.T) {
	p := newPair(t)
	cfg, _ := augment.Preset("shapes")
	s := augSplit(6, 3, 16, 16)
	dev, err := p.dev.NewAugmenter(s, cfg, 3, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	buf := p.dev.Alloc(len(augIdx) * 3 * 16 * 16)
	step := uint64(0)
	views := testing.AllocsPerRun(10, func() {
		step++
		dev.Views(buf, augIdx, int(step%2), 1, step)
	})
	plain := testing.AllocsPerRun(10, func() { dev.Plain(buf, augIdx) })
	if views != 0 || plain != 0 {
		t.Errorf("Views allocates %v times per call, Plain %v", views, plain)
	}
}
