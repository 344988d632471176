package augment

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randImage(r *rand.Rand, n int) []float32 {
	img := make([]float32, n)
	for i := range img {
		img[i] = r.Float32()
	}
	return img
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func checkClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !near(float64(got[i]), float64(want[i]), tol) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestFlip(t *testing.T) {
	img := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} // 2 channels × 2 rows × 3
	flip(img, 2, 3)
	checkClose(t, "flip", img, []float32{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}, 0)
}

func TestResizeIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]uint8, 3*5*7)
	for i := range src {
		src[i] = uint8(r.IntN(256))
	}
	want := make([]float32, len(src))
	toFloat(want, src)
	got := make([]float32, len(src))
	resize(got, src, 3, 5, 7, box{0, 0, 5, 7}, 5, 7, make([]tap, 7), make([]tap, 5))
	checkClose(t, "identity resize", got, want, 0)
}

func TestResizeMatchesTorch(t *testing.T) {
	// torch.nn.functional.interpolate([[0,1],[2,3]], size=4, mode="bilinear", align_corners=False)
	want := []float32{0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3}
	for i := range want {
		want[i] /= 255
	}
	got := make([]float32, 16)
	resize(got, []uint8{0, 1, 2, 3}, 1, 2, 2, box{0, 0, 2, 2}, 4, 4, make([]tap, 4), make([]tap, 4))
	checkClose(t, "upsample", got, want, 1e-7)

	// A box inside a bigger image is the same as that sub-image on its own.
	big := []uint8{
		9, 9, 9, 9,
		9, 0, 1, 9,
		9, 2, 3, 9,
	}
	resize(got, big, 1, 3, 4, box{top: 1, left: 1, h: 2, w: 2}, 4, 4, make([]tap, 4), make([]tap, 4))
	checkClose(t, "crop box", got, want, 1e-7)
}

func TestSampleCrop(t *testing.T) {
	full := Crop{AreaMin: 1, AreaMax: 1, AspectMin: 1, AspectMax: 1}
	s := newStream(7, streamCrop)
	if b := sampleCrop(&s, 32, 32, &full); b != (box{0, 0, 32, 32}) {
		t.Fatalf("full-area square crop = %+v, want the whole image", b)
	}

	// No box of full area and aspect ≥ 2 fits a square: torchvision falls back
	// to a central crop with the aspect clipped to 2.
	wide := Crop{AreaMin: 1, AreaMax: 1, AspectMin: 2, AspectMax: 3}
	if b := sampleCrop(&s, 10, 10, &wide); b != (box{top: 2, left: 0, h: 5, w: 10}) {
		t.Fatalf("fallback crop = %+v", b)
	}

	c := Crop{AreaMin: 0.2, AreaMax: 0.6, AspectMin: 3.0 / 4, AspectMax: 4.0 / 3}
	seenTop := map[int]bool{}
	for i := range 2000 {
		s := newStream(SampleKey(1, 2, i, 0), streamCrop)
		b := sampleCrop(&s, 32, 32, &c)
		if b.top < 0 || b.left < 0 || b.top+b.h > 32 || b.left+b.w > 32 || b.h < 1 || b.w < 1 {
			t.Fatalf("box %+v outside 32x32", b)
		}
		// Rounding each side to whole pixels moves area and aspect a little.
		area := float64(b.h*b.w) / 1024
		if area < 0.2*0.85 || area > 0.6*1.15 {
			t.Fatalf("box %+v has area fraction %.3f outside ~[0.2,0.6]", b, area)
		}
		if asp := float64(b.w) / float64(b.h); asp < 0.75*0.85 || asp > 4.0/3*1.15 {
			t.Fatalf("box %+v has aspect %.3f", b, asp)
		}
		seenTop[b.top] = true
	}
	if len(seenTop) < 15 {
		t.Fatalf("crop positions barely vary: %d distinct tops", len(seenTop))
	}
}

func TestBrightness(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	img := randImage(r, 48)
	orig := append([]float32(nil), img...)
	brightness(img, 1)
	checkClose(t, "factor 1", img, orig, 0)
	brightness(img, 2)
	for i := range img {
		if want := min(2*orig[i], 1); img[i] != want {
			t.Fatalf("factor 2: [%d] = %v, want %v", i, img[i], want)
		}
	}
}

func TestContrast(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 12
	img := randImage(r, 3*n)
	orig := append([]float32(nil), img...)
	var mean float64
	for i := range n {
		mean += 0.299*float64(orig[i]) + 0.587*float64(orig[n+i]) + 0.114*float64(orig[2*n+i])
	}
	mean /= n
	contrast(img, 3, n, 1.3)
	for i := range img {
		want := math.Min(math.Max(1.3*float64(orig[i])-0.3*mean, 0), 1)
		if !near(float64(img[i]), want, 1e-6) {
			t.Fatalf("rgb: [%d] = %v, want %v", i, img[i], want)
		}
	}
	// Factor 0 leaves only the mean; for one channel it is the image mean.
	gray := []float32{0, 0.2, 0.4, 0.6}
	contrast(gray, 1, 4, 0)
	checkClose(t, "gray factor 0", gray, []float32{0.3, 0.3, 0.3, 0.3}, 1e-7)
}

func TestSaturation(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 10
	img := randImage(r, 3*n)
	orig := append([]float32(nil), img...)
	saturation(img, 3, n, 1)
	checkClose(t, "factor 1", img, orig, 1e-7)
	saturation(img, 3, n, 0)
	want := append([]float32(nil), orig...)
	grayscale(want, 3, n)
	checkClose(t, "factor 0 is grayscale", img, want, 1e-6)
	one := []float32{0.1, 0.9}
	saturation(one, 1, 2, 0)
	checkClose(t, "1 channel untouched", one, []float32{0.1, 0.9}, 0)
}

// refHue rotates hue with the textbook HSV formulas (Python's colorsys),
// written independently of torchvision's vectorised form.
func refHue(r, g, b, shift float64) (float64, float64, float64) {
	maxc, minc := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
	v := maxc
	if maxc == minc {
		return r, g, b
	}
	s := (maxc - minc) / maxc
	rc, gc, bc := (maxc-r)/(maxc-minc), (maxc-g)/(maxc-minc), (maxc-b)/(maxc-minc)
	var h float64
	switch {
	case r == maxc:
		h = bc - gc
	case g == maxc:
		h = 2 + rc - bc
	default:
		h = 4 + gc - rc
	}
	h = math.Mod(h/6+shift+2, 1)
	i := int(h * 6)
	f := h*6 - float64(i)
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	switch i % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}

func TestHue(t *testing.T) {
	red := []float32{1, 0, 0}
	hue(red, 3, 1, 1.0/3)
	checkClose(t, "red + 1/3 turn", red, []float32{0, 1, 0}, 1e-6)

	r := rand.New(rand.NewPCG(9, 10))
	const n = 500
	img := randImage(r, 3*n)
	orig := append([]float32(nil), img...)
	hue(img, 3, n, 0)
	checkClose(t, "shift 0", img, orig, 2e-6)
	for _, shift := range []float32{-0.5, -0.1, 0.07, 0.5} {
		copy(img, orig)
		hue(img, 3, n, shift)
		for i := range n {
			wr, wg, wb := refHue(float64(orig[i]), float64(orig[n+i]), float64(orig[2*n+i]), float64(shift))
			checkClose(t, "hue vs reference", []float32{img[i], img[n+i], img[2*n+i]},
				[]float32{float32(wr), float32(wg), float32(wb)}, 1e-5)
		}
	}
	gray := []float32{0.4, 0.4, 0.4}
	hue(gray, 3, 1, 0.3)
	checkClose(t, "gray pixel", gray, []float32{0.4, 0.4, 0.4}, 0)
}

func TestGrayscale(t *testing.T) {
	img := []float32{1, 0, 0, 0, 1, 0, 0, 0, 1} // 3 channels × 3 pixels: red, green, blue
	grayscale(img, 3, 3)
	checkClose(t, "weights", img, []float32{0.299, 0.587, 0.114, 0.299, 0.587, 0.114, 0.299, 0.587, 0.114}, 1e-7)
}

func TestSolarize(t *testing.T) {
	img := []float32{0, 0.2, 0.4999, 0.5, 0.7, 1}
	solarize(img, 0.5)
	checkClose(t, "solarize", img, []float32{0, 0.2, 0.4999, 0.5, 0.3, 0}, 1e-7)
}

func TestMirror(t *testing.T) {
	for _, c := range []struct{ i, n, want int }{
		{-1, 5, 1}, {-2, 5, 2}, {0, 5, 0}, {4, 5, 4}, {5, 5, 3}, {6, 5, 2}, {-3, 2, 1}, {3, 1, 0},
	} {
		if got := mirror(c.i, c.n); got != c.want {
			t.Errorf("mirror(%d,%d) = %d, want %d", c.i, c.n, got, c.want)
		}
	}
}

// refBlur is a direct 2-D convolution over an explicitly reflect-padded copy.
func refBlur(img []float32, c, h, w int, k []float32) []float32 {
	r := len(k) / 2
	out := make([]float32, len(img))
	for ch := range c {
		for y := range h {
			for x := range w {
				var acc float64
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						sy, sx := y+dy, x+dx
						if sy < 0 {
							sy = -sy
						} else if sy >= h {
							sy = 2*(h-1) - sy
						}
						if sx < 0 {
							sx = -sx
						} else if sx >= w {
							sx = 2*(w-1) - sx
						}
						acc += float64(k[dy+r]) * float64(k[dx+r]) * float64(img[ch*h*w+sy*w+sx])
					}
				}
				out[ch*h*w+y*w+x] = float32(acc)
			}
		}
	}
	return out
}

func TestBlur(t *testing.T) {
	k := make([]float32, 5)
	gaussianKernel(k, 1.3)
	var sum float64
	for i := range k {
		sum += float64(k[i])
		if k[i] != k[len(k)-1-i] {
			t.Fatalf("kernel %v not symmetric", k)
		}
		x := float64(i - 2)
		if ratio := float64(k[i]) / float64(k[2]); !near(ratio, math.Exp(-x*x/(2*1.3*1.3)), 1e-6) {
			t.Fatalf("kernel %v is not Gaussian", k)
		}
	}
	if !near(sum, 1, 1e-6) {
		t.Fatalf("kernel sums to %v", sum)
	}

	const c, h, w = 3, 9, 11
	img := make([]float32, c*h*w)
	tmp := make([]float32, len(img))
	for i := range img {
		img[i] = 0.37
	}
	blur(img, tmp, c, h, w, k)
	for i, v := range img {
		if !near(float64(v), 0.37, 1e-6) {
			t.Fatalf("constant image changed at %d: %v", i, v)
		}
	}

	// An impulse away from the borders spreads out but keeps its mass.
	for i := range img {
		img[i] = 0
	}
	img[4*w+5] = 1
	blur(img, tmp, c, h, w, k)
	var mass float64
	for _, v := range img[:h*w] {
		mass += float64(v)
	}
	if !near(mass, 1, 1e-6) || img[4*w+5] >= 1 {
		t.Fatalf("impulse: mass %v, centre %v", mass, img[4*w+5])
	}

	r := rand.New(rand.NewPCG(11, 12))
	for _, kn := range []int{3, 5, 7} {
		k := make([]float32, kn)
		gaussianKernel(k, 0.9)
		img := randImage(r, c*h*w)
		want := refBlur(img, c, h, w, k)
		blur(img, tmp, c, h, w, k)
		checkClose(t, "blur vs 2-D reference", img, want, 1e-6)
	}
}

func TestNoiseStatistics(t *testing.T) {
	img := make([]float32, 100001) // odd: the last pixel uses half a pair
	s := newStream(99, streamNoise)
	addNoise(img, &s, 0.1)
	var sum, sq float64
	for _, v := range img {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	mean := sum / float64(len(img))
	std := math.Sqrt(sq/float64(len(img)) - mean*mean)
	if math.Abs(mean) > 0.002 || math.Abs(std-0.1) > 0.002 {
		t.Fatalf("noise mean %v std %v, want 0 and 0.1", mean, std)
	}
	if img[len(img)-1] == 0 {
		t.Fatal("last (odd) pixel got no noise")
	}
}

func TestStreamUniform(t *testing.T) {
	// Draws of neighbouring keys must look independent: a coarse histogram.
	var bins [10]int
	for i := range 10000 {
		s := newStream(SampleKey(0, 0, i, 0), streamFlip)
		bins[int(s.float()*10)]++
	}
	for b, n := range bins {
		if n < 900 || n > 1100 {
			t.Fatalf("bin %d has %d of 10000 draws", b, n)
		}
	}
}
