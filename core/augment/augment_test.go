package augment

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/parallel"
)

func testSplit(n, c, h, w int) *data.Split {
	r := rand.New(rand.NewPCG(uint64(n), uint64(c*h*w)))
	s := &data.Split{N: n, C: c, H: h, W: w, Pix: make([]uint8, n*c*h*w)}
	for i := range s.Pix {
		s.Pix[i] = uint8(r.IntN(256))
	}
	return s
}

// shapesSplit draws a few flat-coloured rectangles on a flat background per
// image, closer to real data than noise (branchy colour code predicts well on
// flat regions and badly on noise, so noise would understate throughput).
func shapesSplit(n, c, h, w int) *data.Split {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	s := &data.Split{N: n, C: c, H: h, W: w, Pix: make([]uint8, n*c*h*w)}
	var col [3]uint8
	for i := range n {
		img := s.Image(i)
		for k := range 4 {
			for ch := range c {
				col[ch] = uint8(r.IntN(256))
			}
			y0, x0 := r.IntN(h), r.IntN(w)
			y1, x1 := y0+r.IntN(h-y0)+1, x0+r.IntN(w-x0)+1
			if k == 0 {
				y0, x0, y1, x1 = 0, 0, h, w
			}
			for ch := range c {
				for y := y0; y < y1; y++ {
					for x := x0; x < x1; x++ {
						img[(ch*h+y)*w+x] = col[ch]
					}
				}
			}
		}
	}
	return s
}

func mustPreset(t testing.TB, name string) Config {
	t.Helper()
	cfg, err := Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mustNew(t testing.TB, cfg Config, c, h, w int, pool *parallel.Pool) *Augmenter {
	t.Helper()
	a, err := New(cfg, c, h, w, pool)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func seq(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// allOn is the shapes preset with every transform applied to every sample.
func allOn(t testing.TB) Config {
	cfg := mustPreset(t, "shapes")
	for v := range cfg.Views {
		p := &cfg.Views[v]
		p.Crop.P, p.Flip.P, p.Jitter.P, p.Grayscale.P, p.Blur.P, p.Solarize.P = 1, 1, 1, 1, 1, 1
		p.Noise.Enabled, p.Noise.P = true, 1
	}
	return cfg
}

// allOff switches every transform off with one field each.
func allOff(cfg Config) Config {
	for v := range cfg.Views {
		p := &cfg.Views[v]
		p.Crop.Enabled, p.Flip.Enabled, p.Jitter.Enabled, p.Grayscale.Enabled = false, false, false, false
		p.Blur.Enabled, p.Solarize.Enabled, p.Noise.Enabled, p.Rotate.Enabled = false, false, false, false
	}
	return cfg
}

func TestPlainNormalises(t *testing.T) {
	s := testSplit(3, 3, 4, 5)
	cfg := mustPreset(t, "cifar10")
	a := mustNew(t, cfg, 3, 4, 5, parallel.New(2))
	dst := make([]float32, 3*60)
	a.Plain(dst, s, []int{2, 0, 1})
	for k, i := range []int{2, 0, 1} {
		img := s.Image(i)
		for j, p := range img {
			ch := j / 20
			want := (float32(p)/255 - float32(cfg.Normalize.Mean[ch])) / float32(cfg.Normalize.Std[ch])
			if got := dst[k*60+j]; got != want {
				t.Fatalf("image %d pixel %d = %v, want %v", i, j, got, want)
			}
		}
	}
}

func TestAllOffIsPlain(t *testing.T) {
	for _, name := range []string{"shapes", "mnist"} {
		c := 3
		if name == "mnist" {
			c = 1
		}
		s := testSplit(20, c, 8, 8)
		a := mustNew(t, allOff(allOn(t)), c, 8, 8, nil)
		if name == "mnist" {
			if err := a.SetConfig(allOff(mustPreset(t, "mnist"))); err != nil {
				t.Fatal(err)
			}
		}
		plain := make([]float32, 20*c*64)
		views := make([]float32, len(plain))
		a.Plain(plain, s, seq(20))
		for view := range 2 {
			a.Views(views, s, seq(20), view, 1, 2)
			checkClose(t, name+" all off", views, plain, 0)
		}
	}
	// Probability 0 is off too.
	cfg := allOn(t)
	for v := range cfg.Views {
		p := &cfg.Views[v]
		p.Crop.P, p.Flip.P, p.Jitter.P, p.Grayscale.P, p.Blur.P, p.Solarize.P, p.Noise.P, p.Rotate.P = 0, 0, 0, 0, 0, 0, 0, 0
	}
	s := testSplit(20, 3, 8, 8)
	a := mustNew(t, cfg, 3, 8, 8, nil)
	plain := make([]float32, 20*3*64)
	views := make([]float32, len(plain))
	a.Plain(plain, s, seq(20))
	a.Views(views, s, seq(20), 1, 1, 2)
	checkClose(t, "p=0", views, plain, 0)
}

func TestEachTransformSwitches(t *testing.T) {
	// Switching one transform on, alone, must change the output.
	s := testSplit(16, 3, 12, 12)
	base := allOff(allOn(t))
	plain := make([]float32, 16*3*144)
	views := make([]float32, len(plain))
	a := mustNew(t, base, 3, 12, 12, nil)
	a.Plain(plain, s, seq(16))
	on := map[string]func(p *Pipeline){
		"crop":      func(p *Pipeline) { p.Crop.Enabled = true },
		"flip":      func(p *Pipeline) { p.Flip.Enabled = true },
		"rotate":    func(p *Pipeline) { p.Rotate.Enabled = true },
		"jitter":    func(p *Pipeline) { p.Jitter.Enabled = true },
		"grayscale": func(p *Pipeline) { p.Grayscale.Enabled = true },
		"blur":      func(p *Pipeline) { p.Blur.Enabled = true },
		"solarize":  func(p *Pipeline) { p.Solarize.Enabled = true },
		"noise":     func(p *Pipeline) { p.Noise.Enabled = true },
	}
	for name, f := range on {
		cfg := base
		f(&cfg.Views[0])
		if err := a.SetConfig(cfg); err != nil {
			t.Fatal(err)
		}
		a.Views(views, s, seq(16), 0, 5, 6)
		if reflect.DeepEqual(views, plain) {
			t.Errorf("%s on: output equals plain", name)
		}
	}
}

func TestDeterminism(t *testing.T) {
	const n = 37 // does not divide evenly over 4 threads
	s := testSplit(50, 3, 16, 16)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = (i * 7) % 50
	}
	cfg := allOn(t)
	one := mustNew(t, cfg, 3, 16, 16, parallel.New(1))
	four := mustNew(t, cfg, 3, 16, 16, parallel.New(4))
	size := 3 * 16 * 16
	get := func(a *Augmenter, idx []int, view int, seed, step uint64) []float32 {
		dst := make([]float32, len(idx)*size)
		a.Views(dst, s, idx, view, seed, step)
		return dst
	}
	ref := get(one, idx, 0, 42, 100)
	checkClose(t, "same call again", get(one, idx, 0, 42, 100), ref, 0)
	checkClose(t, "4 threads vs 1", get(four, idx, 0, 42, 100), ref, 0)

	// One image alone reproduces its slot in the batch: the view depends on
	// the dataset index, not on the batch around it.
	checkClose(t, "single image", get(four, idx[5:6], 0, 42, 100), ref[5*size:6*size], 0)

	for _, c := range []struct {
		name       string
		view       int
		seed, step uint64
	}{{"step", 0, 42, 101}, {"view", 1, 42, 100}, {"seed", 0, 43, 100}} {
		other := get(four, idx, c.view, c.seed, c.step)
		for i := range n {
			if reflect.DeepEqual(other[i*size:(i+1)*size], ref[i*size:(i+1)*size]) {
				t.Fatalf("different %s, same image %d", c.name, i)
			}
		}
	}
}

func TestTransformsDrawIndependently(t *testing.T) {
	// Solarizing everything (threshold 0) on top of a crop must not move the
	// crop: each transform has its own random stream.
	s := testSplit(10, 1, 28, 28)
	cfg := allOff(mustPreset(t, "mnist"))
	cfg.Normalize = Normalize{Mean: []float64{0}, Std: []float64{1}}
	cfg.Views[0].Crop.Enabled = true
	a := mustNew(t, cfg, 1, 28, 28, nil)
	crop := make([]float32, 10*784)
	a.Views(crop, s, seq(10), 0, 3, 4)
	cfg.Views[0].Solarize = Solarize{Enabled: true, P: 1, Threshold: 0}
	cfg.Views[0].Jitter.Enabled, cfg.Views[0].Jitter.P = true, 0 // on, never applied
	if err := a.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	sol := make([]float32, 10*784)
	a.Views(sol, s, seq(10), 0, 3, 4)
	for i := range crop {
		crop[i] = 1 - crop[i]
	}
	checkClose(t, "crop then solarize", sol, crop, 1e-6)
}

func TestClampBeforeNormalise(t *testing.T) {
	cfg := allOn(t)
	cfg.Views[0].Noise.Std = 1 // far outside [0,1] before the clamp
	cfg.Views[0].Jitter.Brightness = 3
	s := testSplit(8, 3, 10, 10)
	a := mustNew(t, cfg, 3, 10, 10, nil)
	dst := make([]float32, 8*300)
	a.Views(dst, s, seq(8), 0, 1, 1)
	var lo, hi int
	for i, v := range dst {
		x := float64(v)*cfg.Normalize.Std[0] + cfg.Normalize.Mean[0] // one value for all channels
		if x < -1e-6 || x > 1+1e-6 {
			t.Fatalf("pixel %d is %v before normalisation", i, x)
		}
		if near(x, 0, 1e-6) {
			lo++
		}
		if near(x, 1, 1e-6) {
			hi++
		}
	}
	if lo == 0 || hi == 0 {
		t.Fatalf("clamp never hit: %d at 0, %d at 1", lo, hi)
	}
}

func TestResizeToModelSize(t *testing.T) {
	// A 16×16 dataset fed to an 8×8 model: Plain resizes the whole image.
	s := testSplit(2, 1, 16, 16)
	cfg := allOff(mustPreset(t, "mnist"))
	cfg.Normalize = Normalize{Mean: []float64{0}, Std: []float64{1}}
	a := mustNew(t, cfg, 1, 8, 8, nil)
	dst := make([]float32, 2*64)
	a.Plain(dst, s, []int{0, 1})
	want := make([]float32, 64)
	resize(want, s.Image(1), 1, 16, 16, box{0, 0, 16, 16}, 8, 8, make([]tap, 8), make([]tap, 8))
	checkClose(t, "resized plain", dst[64:], want, 0)
	// With every 2×2 block averaged by the half-pixel grid.
	img := s.Image(1)
	avg := (float64(img[0]) + float64(img[1]) + float64(img[16]) + float64(img[17])) / 4 / 255
	if !near(float64(dst[64]), avg, 1e-6) {
		t.Fatalf("corner %v, want block mean %v", dst[64], avg)
	}
}

func TestSetConfigLive(t *testing.T) {
	s := testSplit(4, 3, 8, 8)
	a := mustNew(t, allOn(t), 3, 8, 8, nil)
	before := make([]float32, 4*192)
	a.Views(before, s, seq(4), 0, 1, 1)

	bad := allOn(t)
	bad.Views[0].Flip.P = 2
	if err := a.SetConfig(bad); err == nil {
		t.Fatal("SetConfig accepted flip p=2")
	}
	after := make([]float32, len(before))
	a.Views(after, s, seq(4), 0, 1, 1)
	checkClose(t, "failed SetConfig keeps old config", after, before, 0)

	cfg := a.Config()
	cfg.Views[0].Jitter.Enabled = false // the one-field knob
	if err := a.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	a.Views(after, s, seq(4), 0, 1, 1)
	if reflect.DeepEqual(after, before) {
		t.Fatal("switching jitter off changed nothing")
	}
	if a.Config().Views[0].Jitter.Enabled {
		t.Fatal("Config() does not reflect SetConfig")
	}
	if allocs := testing.AllocsPerRun(10, func() { _ = a.SetConfig(cfg) }); allocs != 0 {
		t.Errorf("SetConfig allocates %v times", allocs)
	}
}

func TestValidation(t *testing.T) {
	for _, c := range []struct {
		want string
		edit func(c *Config)
	}{
		{"views[0].flip: probability 1.5", func(c *Config) { c.Views[0].Flip.P = 1.5 }},
		{"views[1].noise: probability -0.1", func(c *Config) { c.Views[1].Noise.P = -0.1 }},
		{"views[0].crop: probability NaN", func(c *Config) { c.Views[0].Crop.P = math.NaN() }},
		{"views[0].crop: area range [0.9,0.5]", func(c *Config) { c.Views[0].Crop.AreaMin = 0.9; c.Views[0].Crop.AreaMax = 0.5 }},
		{"views[0].crop: area range [0,1]", func(c *Config) { c.Views[0].Crop.AreaMin = 0 }},
		{"views[1].crop: area range [0.25,1.5]", func(c *Config) { c.Views[1].Crop.AreaMax = 1.5 }},
		{"views[0].rotate: degrees 200 outside [0,180]", func(c *Config) { c.Views[0].Rotate.Degrees = 200 }},
		{"views[0].crop: aspect range [2,1]", func(c *Config) { c.Views[0].Crop.AspectMin, c.Views[0].Crop.AspectMax = 2, 1 }},
		{"views[0].jitter: brightness strength -1", func(c *Config) { c.Views[0].Jitter.Brightness = -1 }},
		{"views[0].jitter: hue strength 0.6", func(c *Config) { c.Views[0].Jitter.Hue = 0.6 }},
		{`views[0].jitter: order "sorted"`, func(c *Config) { c.Views[0].Jitter.Order = "sorted" }},
		{"views[1].blur: kernel 4 must be odd", func(c *Config) { c.Views[1].Blur.Kernel = 4 }},
		{"views[1].blur: kernel 0", func(c *Config) { c.Views[1].Blur.Kernel = 0 }},
		{"views[1].blur: kernel 65", func(c *Config) { c.Views[1].Blur.Kernel = 65 }},
		{"views[0].blur: sigma range [2,1]", func(c *Config) { c.Views[0].Blur.SigmaMin = 2; c.Views[0].Blur.SigmaMax = 1 }},
		{"views[1].solarize: threshold 2", func(c *Config) { c.Views[1].Solarize.Threshold = 2 }},
		{"views[0].noise: std -1", func(c *Config) { c.Views[0].Noise.Enabled = true; c.Views[0].Noise.Std = -1 }},
		{"normalize: 2 means and 2 stds for 3 channels", func(c *Config) { c.Normalize = Normalize{Mean: []float64{0, 0}, Std: []float64{1, 1}} }},
		{"normalize: 1 means and 3 stds", func(c *Config) { c.Normalize.Std = []float64{1, 1, 1} }},
		{"normalize: channel 0 has mean 0.5 std 0", func(c *Config) { c.Normalize.Std = []float64{0} }},
	} {
		cfg := mustPreset(t, "shapes")
		c.edit(&cfg)
		_, err := New(cfg, 3, 32, 32, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want error containing %q, got %v", c.want, err)
		}
	}

	// Parameters of a switched-off transform are not checked: a zero block is "off".
	cfg := mustPreset(t, "shapes")
	cfg.Views[0].Blur = Blur{}
	cfg.Views[0].Crop = Crop{}
	if _, err := New(cfg, 3, 32, 32, nil); err != nil {
		t.Errorf("zero (disabled) blocks rejected: %v", err)
	}
	if _, err := New(cfg, 2, 32, 32, nil); err == nil {
		t.Error("2 channels accepted")
	}
	if _, err := New(cfg, 3, 0, 32, nil); err == nil {
		t.Error("height 0 accepted")
	}
}

func TestMNISTPreset(t *testing.T) {
	cfg := mustPreset(t, "mnist")
	want := Pipeline{
		Crop:   Crop{Enabled: true, P: 1, AreaMin: 0.5, AreaMax: 1, AspectMin: 0.75, AspectMax: 4.0 / 3},
		Jitter: Jitter{Enabled: true, P: 0.8, Brightness: 0.4, Contrast: 0.4, Order: JitterFixed},
		Blur:   Blur{Enabled: true, P: 0.5, SigmaMin: 0.1, SigmaMax: 2, Kernel: 5},
		Noise:  Noise{Enabled: true, P: 0.5, Std: 0.1},
	}
	for v := range cfg.Views {
		if got := cfg.Views[v]; got != want {
			t.Errorf("view %d:\n got %+v\nwant %+v", v, got, want)
		}
		p := cfg.Views[v]
		if p.Flip.Enabled || p.Grayscale.Enabled || p.Solarize.Enabled || p.Jitter.Saturation != 0 || p.Jitter.Hue != 0 {
			t.Errorf("view %d has flip, colour, grayscale or solarize", v)
		}
	}
	if !reflect.DeepEqual(cfg.Normalize, Normalize{Mean: []float64{0.1307}, Std: []float64{0.3081}}) {
		t.Errorf("normalize %+v", cfg.Normalize)
	}
	// Brightness then contrast: factors U(0.6, 1.4).
	j := cfg.Views[0].Jitter
	if 1-j.Brightness != 0.6 || 1+j.Brightness != 1.4 || 1-j.Contrast != 0.6 || 1+j.Contrast != 1.4 {
		t.Errorf("jitter factors not U(0.6,1.4): %+v", j)
	}
	if _, err := New(cfg, 1, 28, 28, nil); err != nil {
		t.Fatal(err)
	}
}

func TestJitterFixedOrder(t *testing.T) {
	// Fixed order applies brightness, then contrast, with factors drawn after
	// the (unused) permutation; check against doing the two by hand.
	j := Jitter{Enabled: true, P: 1, Brightness: 0.4, Contrast: 0.4, Order: JitterFixed}
	r := rand.New(rand.NewPCG(1, 1))
	img := randImage(r, 3*16)
	want := append([]float32(nil), img...)
	s := newStream(77, streamJitter)
	jitter(img, 3, 16, &j, &s)
	s = newStream(77, streamJitter)
	s.n += 3 // the permutation's draws
	fb := float32(s.uniform(0.6, 1.4))
	fc := float32(s.uniform(0.6, 1.4))
	brightness(want, fb)
	contrast(want, 3, 16, fc)
	checkClose(t, "brightness then contrast", img, want, 0)
}

func TestPresets(t *testing.T) {
	for _, name := range Presets {
		cfg := mustPreset(t, name)
		c := 3
		if name == "mnist" {
			c = 1
		}
		if err := cfg.Validate(c); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// Config files round-trip.
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var back Config
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, cfg) {
			t.Errorf("%s: JSON round trip: %v\n%s", name, err, b)
		}
	}
	shapes, cifar := mustPreset(t, "shapes"), mustPreset(t, "cifar10")
	// shapes is cifar10's pipeline plus free rotation and full hue jitter.
	for v := range cifar.Views {
		p := cifar.Views[v]
		p.Rotate = Rotate{Enabled: true, P: 1, Degrees: 180}
		p.Jitter.Hue, p.Crop.AreaMin = 0.5, 0.25
		if shapes.Views[v] != p {
			t.Errorf("shapes view %d = %+v, want cifar10's with rotation and full hue", v, shapes.Views[v])
		}
	}
	// The paper's asymmetry: blur 1.0 / 0.1, solarize 0 / 0.2.
	if v := shapes.Views; v[0].Blur.P != 1 || v[1].Blur.P != 0.1 || v[0].Solarize.P != 0 || v[1].Solarize.P != 0.2 {
		t.Errorf("shapes views not asymmetric: %+v", v)
	}
	if _, err := Preset("imagenet"); err == nil || !strings.Contains(err.Error(), "mnist") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, c := range []struct {
		preset  string
		c, h, w int
	}{{"mnist", 1, 28, 28}, {"shapes", 3, 32, 32}} {
		s := testSplit(64, c.c, c.h, c.w)
		cfg := allOn(t)
		if c.preset == "mnist" {
			cfg = mustPreset(t, "mnist")
		}
		a := mustNew(t, cfg, c.c, c.h, c.w, parallel.New(4))
		dst := make([]float32, 64*c.c*c.h*c.w)
		idx := seq(64)
		step := uint64(0)
		views := testing.AllocsPerRun(20, func() {
			step++
			a.Views(dst, s, idx, int(step%2), 1, step)
		})
		plain := testing.AllocsPerRun(20, func() { a.Plain(dst, s, idx) })
		if views != 0 || plain != 0 {
			t.Errorf("%s: Views allocates %v, Plain %v per call", c.preset, views, plain)
		}
	}
}

func BenchmarkViews(b *testing.B) {
	const batch = 256
	for _, c := range []struct {
		name    string
		c, h, w int
	}{{"mnist", 1, 28, 28}, {"shapes", 3, 32, 32}} {
		for _, threads := range []int{1, 0} {
			pool := parallel.New(threads)
			b.Run(fmt.Sprintf("%s/threads=%d", c.name, pool.Threads()), func(b *testing.B) {
				s := shapesSplit(1024, c.c, c.h, c.w)
				a := mustNew(b, mustPreset(b, c.name), c.c, c.h, c.w, pool)
				dst := make([]float32, batch*c.c*c.h*c.w)
				idx := make([]int, batch)
				b.ReportAllocs()
				step := uint64(0)
				for b.Loop() {
					step++
					for i := range idx {
						idx[i] = int((uint64(i)*2654435761 + step*batch) % 1024)
					}
					a.Views(dst, s, idx, int(step%2), 1, step)
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
			})
			pool.Close()
		}
	}
}

func TestDisableByName(t *testing.T) {
	c, err := Preset("shapes")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Transforms {
		if err := c.Disable(name); err != nil {
			t.Fatal(err)
		}
	}
	for v, p := range c.Views {
		if p.Crop.Enabled || p.Flip.Enabled || p.Jitter.Enabled || p.Grayscale.Enabled || p.Blur.Enabled || p.Solarize.Enabled || p.Noise.Enabled {
			t.Errorf("view %d still has a transform on: %+v", v, p)
		}
	}
	if err := c.Disable("mixup"); err == nil {
		t.Error("unknown transform accepted")
	}
}

// Rotating by ±180° about the centre maps pixel (y, x) to (h−1−y, w−1−x)
// exactly; by 90° to a transpose-and-flip; by 0° it is the identity.
func TestRotateExactAngles(t *testing.T) {
	const c, h, w = 2, 4, 4
	img := make([]float32, c*h*w)
	for i := range img {
		img[i] = float32(i)
	}
	tmp := make([]float32, len(img))
	out := append([]float32(nil), img...)
	rotate(out, tmp, c, h, w, 0)
	checkClose(t, "rotate 0", out, img, 0)
	out = append(out[:0], img...)
	rotate(out, tmp, c, h, w, math.Pi)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				want := img[ch*h*w+(h-1-y)*w+(w-1-x)]
				if got := out[ch*h*w+y*w+x]; math.Abs(float64(got-want)) > 1e-4 {
					t.Fatalf("rotate 180 [%d,%d,%d] = %v, want %v", ch, y, x, got, want)
				}
			}
		}
	}
	out = append(out[:0], img...)
	rotate(out, tmp, c, h, w, math.Pi/2)
	// Output (y, x) samples the source at (x', y') = (y, w−1−x) turned back:
	// a 90° turn of a square image permutes pixels without interpolation.
	seen := map[float32]bool{}
	for _, v := range out[:h*w] {
		seen[v] = true
	}
	if len(seen) != h*w {
		t.Fatalf("rotate 90 is not a permutation of the pixels: %v", out[:h*w])
	}
}
