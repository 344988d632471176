package augment

import "math"

// The transforms work in place on one float32 image in CHW layout with values
// in [0,1]; n is H*W, the size of one channel plane. They follow torchvision's
// tensor implementations, which the paper's pipeline used.

// box is a crop rectangle in source pixels.
type box struct{ top, left, h, w int }

// sampleCrop is torchvision's RandomResizedCrop.get_params: up to ten tries of
// a random area and log-uniform aspect ratio, then a central crop with the
// aspect ratio clipped to the allowed range.
func sampleCrop(s *stream, H, W int, c *Crop) box {
	area := float64(H * W)
	logLo, logHi := math.Log(c.AspectMin), math.Log(c.AspectMax)
	for range 10 {
		target := area * s.uniform(c.AreaMin, c.AreaMax)
		aspect := math.Exp(s.uniform(logLo, logHi))
		// Python's round() rounds half to even.
		w := int(math.RoundToEven(math.Sqrt(target * aspect)))
		h := int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < w && w <= W && 0 < h && h <= H {
			return box{top: s.intn(H - h + 1), left: s.intn(W - w + 1), h: h, w: w}
		}
	}
	h, w := H, W
	if in := float64(W) / float64(H); in < c.AspectMin {
		h = max(1, int(math.RoundToEven(float64(W)/c.AspectMin)))
	} else if in > c.AspectMax {
		w = max(1, int(math.RoundToEven(float64(H)*c.AspectMax)))
	}
	return box{top: (H - h) / 2, left: (W - w) / 2, h: h, w: w}
}

// tap is one output coordinate's two source neighbours and the weight of the
// second one.
type tap struct {
	i0, i1 int32
	f      float32
}

// makeTaps maps out output pixels onto the source span [off, off+n) like
// torch's bilinear interpolate with align_corners=False: pixel centres line
// up, and coordinates before the first centre clamp to it.
func makeTaps(t []tap, off, n, out int) {
	scale := float64(n) / float64(out)
	for x := range t[:out] {
		s := max((float64(x)+0.5)*scale-0.5, 0)
		i0 := min(int(s), n-1)
		i1 := min(i0+1, n-1)
		t[x] = tap{int32(off + i0), int32(off + i1), float32(s - float64(i0))}
	}
}

// resize writes the box b of the 8-bit source (c×sh×sw) bilinearly resized to
// c×h×w into dst, scaled to [0,1]. xs and ys are scratch of length w and h.
// Downscaling is not antialiased; crops are never larger than the image, so
// with equal dataset and model sizes it only ever upsamples.
func resize(dst []float32, src []uint8, c, sh, sw int, b box, h, w int, xs, ys []tap) {
	makeTaps(xs, b.left, b.w, w)
	makeTaps(ys, b.top, b.h, h)
	xs, ys = xs[:w], ys[:h]
	for ch := range c {
		plane := src[ch*sh*sw : (ch+1)*sh*sw]
		out := dst[ch*h*w : (ch+1)*h*w]
		for y, ty := range ys {
			r0, r1 := plane[int(ty.i0)*sw:], plane[int(ty.i1)*sw:]
			row := out[y*w : (y+1)*w]
			for x, tx := range xs {
				top := lerp(float32(r0[tx.i0]), float32(r0[tx.i1]), tx.f)
				bot := lerp(float32(r1[tx.i0]), float32(r1[tx.i1]), tx.f)
				row[x] = lerp(top, bot, ty.f) / 255
			}
		}
	}
}

// lerp is written a + f(b-a) so that f=0 returns a exactly (an identity
// resize is an exact copy).
func lerp(a, b, f float32) float32 { return a + f*(b-a) }

// toFloat converts 8-bit pixels to [0,1] like torchvision's ToTensor.
func toFloat(dst []float32, src []uint8) {
	dst = dst[:len(src)]
	for i, p := range src {
		dst[i] = float32(p) / 255
	}
}

// rotate turns each c×h×w plane of img by angle radians about the image
// centre, sampling bilinearly with edge pixels replicated; tmp holds a copy
// of the input.
func rotate(img, tmp []float32, c, h, w int, angle float64) {
	rotateCS(img, tmp, c, h, w, float32(math.Cos(angle)), float32(math.Sin(angle)))
}

// rotateCS is rotate given the angle's cosine and sine.
func rotateCS(img, tmp []float32, c, h, w int, cs, sn float32) {
	copy(tmp, img[:c*h*w])
	cx, cy := float32(w)/2, float32(h)/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// Inverse map: the output pixel centre back into the source.
			dx, dy := float32(x)+0.5-cx, float32(y)+0.5-cy
			sx := cs*dx + sn*dy + cx - 0.5
			sy := -sn*dx + cs*dy + cy - 0.5
			sx = min(max(sx, 0), float32(w-1))
			sy = min(max(sy, 0), float32(h-1))
			x0, y0 := int(sx), int(sy)
			x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
			fx, fy := sx-float32(x0), sy-float32(y0)
			for ch := 0; ch < c; ch++ {
				p := tmp[ch*h*w:]
				top := lerp(p[y0*w+x0], p[y0*w+x1], fx)
				bot := lerp(p[y1*w+x0], p[y1*w+x1], fx)
				img[ch*h*w+y*w+x] = lerp(top, bot, fy)
			}
		}
	}
}

// flip mirrors every row.
func flip(img []float32, h, w int) {
	for r := 0; r+w <= len(img); r += w {
		row := img[r : r+w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// clamp01 clamps through the float's bit pattern: for IEEE floats the bits
// compared as int32 order like the values (negatives are negative ints), and
// integer min/max compile to branch-free conditional moves, while float
// comparisons here become branches that mispredict at shape edges.
func clamp01(x float32) float32 {
	const one = 0x3f800000 // bits of 1.0
	return math.Float32frombits(uint32(min(max(int32(math.Float32bits(x)), 0), one)))
}

// Luma weights (ITU-R 601), as in torchvision's rgb_to_grayscale.
const wr, wg, wb = 0.299, 0.587, 0.114

// brightness scales pixels by f: torchvision blends with black.
func brightness(img []float32, f float32) {
	for i, x := range img {
		img[i] = clamp01(f * x)
	}
}

// contrast blends with the mean of the grayscale image: f·x + (1-f)·mean.
func contrast(img []float32, c, n int, f float32) {
	var sum float64
	if c == 3 {
		r, g, b := img[:n], img[n:2*n], img[2*n:3*n]
		for i := range r {
			sum += float64(wr*r[i] + wg*g[i] + wb*b[i])
		}
	} else {
		for _, x := range img {
			sum += float64(x)
		}
		n = len(img)
	}
	m := (1 - f) * float32(sum/float64(n))
	for i, x := range img {
		img[i] = clamp01(f*x + m)
	}
}

// saturation blends each pixel with its own gray value.
func saturation(img []float32, c, n int, f float32) {
	if c != 3 {
		return
	}
	r, g, b := img[:n], img[n:2*n], img[2*n:3*n]
	for i := range r {
		m := (1 - f) * (wr*r[i] + wg*g[i] + wb*b[i])
		r[i], g[i], b[i] = clamp01(f*r[i]+m), clamp01(f*g[i]+m), clamp01(f*b[i]+m)
	}
}

// hue rotates the hue by f turns in HSV space.
func hue(img []float32, c, n int, f float32) {
	if c != 3 {
		return
	}
	r, g, b := img[:n], img[n:2*n], img[2*n:3*n]
	for i := range r {
		r[i], g[i], b[i] = hueShift(r[i], g[i], b[i], f)
	}
}

// hueShift follows torchvision's _rgb2hsv / _hsv2rgb.
func hueShift(r, g, b, f float32) (float32, float32, float32) {
	v, lo := r, r // max and min, without the slow float builtins
	if g > v {
		v = g
	}
	if b > v {
		v = b
	}
	if g < lo {
		lo = g
	}
	if b < lo {
		lo = b
	}
	cr := v - lo
	if cr == 0 {
		return r, g, b // gray: no hue to rotate
	}
	s := cr / v
	rc, gc, bc := (v-r)/cr, (v-g)/cr, (v-b)/cr
	var h float32
	switch v {
	case r:
		h = bc - gc
	case g:
		h = 2 + rc - bc
	default:
		h = 4 + gc - rc
	}
	h = frac(frac(h/6+1) + f)
	h6 := h * 6
	i := float32(int32(h6)) // h6 >= 0: truncation is floor
	fr := h6 - i
	p := clamp01(v * (1 - s))
	q := clamp01(v * (1 - s*fr))
	t := clamp01(v * (1 - s*(1-fr)))
	switch int(i) % 6 {
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
	default:
		return v, p, q
	}
}

// frac is x mod 1 in [0,1), like Python's %, for |x| < 2^31.
func frac(x float32) float32 {
	i := float32(int32(x))
	if i > x { // truncation rounded a negative x up
		i--
	}
	return x - i
}

// grayscale writes the luma into all three channels.
func grayscale(img []float32, c, n int) {
	if c != 3 {
		return
	}
	r, g, b := img[:n], img[n:2*n], img[2*n:3*n]
	for i := range r {
		y := wr*r[i] + wg*g[i] + wb*b[i]
		r[i], g[i], b[i] = y, y, y
	}
}

// solarize inverts pixels at or above the threshold.
func solarize(img []float32, t float32) {
	for i, x := range img {
		if x >= t {
			img[i] = 1 - x
		}
	}
}

// gaussianKernel fills k with torchvision's normalised 1-D Gaussian taps.
func gaussianKernel(k []float32, sigma float64) {
	half := float64(len(k)-1) / 2
	var sum float64
	for i := range k {
		x := (float64(i) - half) / sigma
		sum += math.Exp(-0.5 * x * x)
	}
	for i := range k {
		x := (float64(i) - half) / sigma
		k[i] = float32(math.Exp(-0.5*x*x) / sum)
	}
}

// blur convolves every channel with k⊗k, separably: rows into tmp, then
// columns back into img. Borders reflect (…2 1 | 0 1 2…) like torchvision.
func blur(img, tmp []float32, c, h, w int, k []float32) {
	r := len(k) / 2
	n := h * w
	for ch := range c {
		src, mid := img[ch*n:(ch+1)*n], tmp[ch*n:(ch+1)*n]
		for y := range h {
			row, out := src[y*w:(y+1)*w], mid[y*w:(y+1)*w]
			for x := range out {
				var acc float32
				if x >= r && x+r < w { // interior: no reflection
					for j, kj := range k {
						acc += kj * row[x-r+j]
					}
				} else {
					for j, kj := range k {
						acc += kj * row[mirror(x-r+j, w)]
					}
				}
				out[x] = acc
			}
		}
		for y := range h {
			out := src[y*w : (y+1)*w]
			for x := range out {
				out[x] = 0
			}
			for j, kj := range k {
				in := mid[mirror(y-r+j, h)*w:][:w]
				for x, v := range in {
					out[x] += kj * v
				}
			}
		}
	}
}

// mirror maps any index onto [0, n) by mirroring at the borders without
// repeating the edge pixel.
func mirror(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}

// addNoise adds std·N(0,1) per pixel. Normals come in pairs from one 64-bit
// draw by Box–Muller (as cuRAND does), so pixel pair k uses draw k of s.
func addNoise(img []float32, s *stream, std float32) {
	for i := 0; i < len(img); i += 2 {
		u := s.next()
		u1 := (float64(u>>32) + 0.5) * 0x1p-32 // in (0,1): log is finite
		u2 := float64(uint32(u)) * 0x1p-32
		rad := math.Sqrt(-2 * math.Log(u1))
		sin, cos := math.Sincos(2 * math.Pi * u2)
		img[i] += std * float32(rad*cos)
		if i+1 < len(img) {
			img[i+1] += std * float32(rad*sin)
		}
	}
}

// normalize clamps to [0,1] (noise can leave it) and maps each channel to
// (x-mean)/std, dividing like torchvision's Normalize.
func normalize(img []float32, n int, mean, std []float32) {
	for ch := range mean {
		m, s := mean[ch], std[ch]
		p := img[ch*n : (ch+1)*n]
		for i, x := range p {
			p[i] = (clamp01(x) - m) / s
		}
	}
}
