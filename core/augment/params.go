package augment

import "math"

// Params is everything one pipeline decides at random for one sample. The
// Augmenter draws them with Draw and then applies them; a device port
// draws them on the host the same way and applies them per pixel, so both
// paths share one definition of the randomness.
type Params struct {
	// Top, Left, H, W is the source box: the crop, or the whole image.
	Top, Left, H, W int

	Rotate   bool
	Cos, Sin float32 // of the rotation angle

	Flip bool

	// The first NJitter ops of Jitter apply in this order (0 brightness,
	// 1 contrast, 2 saturation, 3 hue); ops with a zero strength are left
	// out. The factors are drawn whenever jitter applies.
	NJitter                                     int
	Jitter                                      [4]int
	Brightness, Contrast, Saturation, HueFactor float32 // b, c, s factors; hue shift in turns

	Gray bool

	// Blur is the number of Gaussian taps in Kernel; 0 when not applied.
	Blur   int
	Kernel [MaxKernel]float32

	Solarize  bool
	Threshold float32

	// Noise pixel pair k (elements 2k, 2k+1 of the CHW image) takes draw k+2
	// of the noise stream NoiseKey (draw 1 was the coin).
	Noise    bool
	NoiseStd float32
	NoiseKey uint64
}

// Draw fills d with pipeline p's parameters for the sample with the given
// key (see SampleKey) and an sh×sw source image.
func (d *Params) Draw(p *Pipeline, key uint64, sh, sw int) {
	*d = Params{H: sh, W: sw}
	if r := newStream(key, streamCrop); p.Crop.Enabled && r.coin(p.Crop.P) {
		b := sampleCrop(&r, sh, sw, &p.Crop)
		d.Top, d.Left, d.H, d.W = b.top, b.left, b.h, b.w
	}
	if r := newStream(key, streamRotate); p.Rotate.Enabled && r.coin(p.Rotate.P) {
		angle := r.uniform(-p.Rotate.Degrees, p.Rotate.Degrees) * math.Pi / 180
		d.Rotate, d.Cos, d.Sin = true, float32(math.Cos(angle)), float32(math.Sin(angle))
	}
	if r := newStream(key, streamFlip); p.Flip.Enabled && r.coin(p.Flip.P) {
		d.Flip = true
	}
	if r := newStream(key, streamJitter); p.Jitter.Enabled && r.coin(p.Jitter.P) {
		d.drawJitter(&p.Jitter, &r)
	}
	if r := newStream(key, streamGray); p.Grayscale.Enabled && r.coin(p.Grayscale.P) {
		d.Gray = true
	}
	if r := newStream(key, streamBlur); p.Blur.Enabled && r.coin(p.Blur.P) {
		d.Blur = p.Blur.Kernel
		gaussianKernel(d.Kernel[:d.Blur], r.uniform(p.Blur.SigmaMin, p.Blur.SigmaMax))
	}
	if r := newStream(key, streamSolarize); p.Solarize.Enabled && r.coin(p.Solarize.P) {
		d.Solarize, d.Threshold = true, float32(p.Solarize.Threshold)
	}
	if r := newStream(key, streamNoise); p.Noise.Enabled && r.coin(p.Noise.P) {
		d.Noise, d.NoiseStd, d.NoiseKey = true, float32(p.Noise.Std), r.key
	}
}

// drawJitter draws the four factors like torchvision's
// ColorJitter.get_params (order, then brightness, contrast, saturation, hue).
// The order is drawn even when fixed, so the factors sit at the same draws
// either way.
func (d *Params) drawJitter(j *Jitter, r *stream) {
	order, perm := [4]int{0, 1, 2, 3}, [4]int{0, 1, 2, 3}
	for i := 3; i > 0; i-- { // Fisher–Yates
		k := r.intn(i + 1)
		perm[i], perm[k] = perm[k], perm[i]
	}
	if j.Order != JitterFixed {
		order = perm
	}
	d.Brightness = float32(r.uniform(max(0, 1-j.Brightness), 1+j.Brightness))
	d.Contrast = float32(r.uniform(max(0, 1-j.Contrast), 1+j.Contrast))
	d.Saturation = float32(r.uniform(max(0, 1-j.Saturation), 1+j.Saturation))
	d.HueFactor = float32(r.uniform(-j.Hue, j.Hue))
	strength := [4]float64{j.Brightness, j.Contrast, j.Saturation, j.Hue}
	for _, op := range order {
		if strength[op] > 0 {
			d.Jitter[d.NJitter] = op
			d.NJitter++
		}
	}
}
