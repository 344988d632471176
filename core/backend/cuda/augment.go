package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/byol-lab/byol-lab/core/augment"
	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/data"
)

// Views on the GPU (kernels/augment.cuh). The dataset's bytes are uploaded
// once. Per call the host draws every image's parameters with augment.Params,
// the CPU Augmenter's own code (a few dozen draws per image), packs them into
// one record per image, uploads the records in one copy, and one kernel
// launch runs the whole pipeline, one block per image.

var (
	kAugment       = kernel("augment_views")
	kAugmentGlobal = kernel("augment_views_global")
)

var _ augment.DeviceBackend = (*CUDA)(nil)

// Must match kernels/augment.cuh.
const (
	augThreads = 256  // AUG_THREADS
	augSmem    = 4096 // AUG_SMEM: larger images take the global-memory kernel

	// Record layout, in 4-byte words.
	recIdx, recFlags            = 0, 1
	recTop, recLeft, recH, recW = 2, 3, 4, 5
	recCos, recSin              = 6, 7
	recNJit, recOrder, recFB    = 8, 9, 13 // op count, four ops, four factors
	recBlur, recThresh, recNStd = 17, 18, 19
	recKeyLo, recKeyHi          = 20, 21
	recTaps                     = 24 // header words; the blur taps follow

	flagRotate, flagFlip, flagGray, flagSolarize, flagNoise = 1, 2, 4, 8, 16
)

// deviceAugmenter implements augment.DeviceAugmenter. Like the CPU
// Augmenter it is used by one goroutine at a time; once it has seen its
// largest batch it does not allocate.
type deviceAugmenter struct {
	c              *CUDA
	pix            *Buf // the split's images, uint8 CHW
	n, sh, sw      int  // split size
	ch, h, w       int  // output size
	cfg            augment.Config
	mean, std      [3]float32
	rec            []int32 // host records, reused
	recDev, tmpDev *Buf    // device records; the global kernel's second buffer
	draw           augment.Params
}

// NewAugmenter uploads split's images and returns an augmenter making
// ch×h×w views of them on the GPU, with augment.Augmenter's semantics.
func (c *CUDA) NewAugmenter(split *data.Split, cfg augment.Config, ch, h, w int) (augment.DeviceAugmenter, error) {
	if ch != 1 && ch != 3 {
		return nil, fmt.Errorf("cuda: augment: %d channels (want 1 or 3)", ch)
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("cuda: augment: image size %dx%d must be positive", h, w)
	}
	if err := split.Validate(); err != nil {
		return nil, err
	}
	if split.C != ch {
		return nil, fmt.Errorf("cuda: augment: split has %d channels, augmenter %d", split.C, ch)
	}
	a := &deviceAugmenter{c: c, n: split.N, sh: split.H, sw: split.W, ch: ch, h: h, w: w}
	if err := a.SetConfig(cfg); err != nil {
		return nil, err
	}
	a.pix = c.AllocBytes(len(split.Pix))
	c.d.HtoD(a.pix.ptr, unsafe.Pointer(&split.Pix[0]), len(split.Pix))
	if err := c.d.Err(); err != nil {
		return nil, fmt.Errorf("cuda: augment: uploading %d images: %w", split.N, err)
	}
	return a, nil
}

// SetConfig validates cfg and makes it the config of later calls; on error
// the old one stays. It does not allocate.
func (a *deviceAugmenter) SetConfig(cfg augment.Config) error {
	if err := cfg.Validate(a.ch); err != nil {
		return err
	}
	for ch := range a.ch {
		i := min(ch, len(cfg.Normalize.Mean)-1) // one value applies to all channels
		a.mean[ch] = float32(cfg.Normalize.Mean[i])
		a.std[ch] = float32(cfg.Normalize.Std[i])
	}
	cfg.Normalize = augment.Normalize{} // do not keep the caller's slices
	a.cfg = cfg
	return nil
}

// Views writes view 0 or 1 of the images idx into dst (len(idx)·c·h·w).
// As on the CPU, image i's randomness comes from SampleKey(seed, step,
// idx[i], view) only.
func (a *deviceAugmenter) Views(dst backend.Buffer, idx []int, view int, seed, step uint64) {
	if view != 0 && view != 1 {
		panic(fmt.Sprintf("cuda: augment: view %d (want 0 or 1)", view))
	}
	a.run(dst, idx, view, seed, step)
}

// Plain writes the images idx resized and normalised, unaugmented.
func (a *deviceAugmenter) Plain(dst backend.Buffer, idx []int) {
	a.run(dst, idx, -1, 0, 0)
}

// run checks the call, draws and packs one record per image (view -1:
// plain), uploads them and launches the pipeline.
func (a *deviceAugmenter) run(dst backend.Buffer, idx []int, view int, seed, step uint64) {
	size := a.ch * a.h * a.w
	if need := len(idx) * size; dst.Len() < need {
		panic(fmt.Sprintf("cuda: augment: dst has %d floats, %d images need %d", dst.Len(), len(idx), need))
	}
	for _, i := range idx {
		if i < 0 || i >= a.n {
			panic(fmt.Sprintf("cuda: augment: image index %d outside split of %d", i, a.n))
		}
	}
	if len(idx) == 0 {
		return
	}
	stride := recTaps
	if view >= 0 && a.cfg.Views[view].Blur.Enabled {
		stride += a.cfg.Views[view].Blur.Kernel
	}
	words := len(idx) * stride
	if cap(a.rec) < words {
		a.rec = make([]int32, words)
	}
	a.rec = a.rec[:words]
	for k, i := range idx {
		if view < 0 {
			a.draw = augment.Params{H: a.sh, W: a.sw}
		} else {
			a.draw.Draw(&a.cfg.Views[view], augment.SampleKey(seed, step, i, view), a.sh, a.sw)
		}
		a.pack(a.rec[k*stride:(k+1)*stride], i)
	}
	if a.recDev == nil || a.recDev.n < words {
		a.recDev = a.c.Alloc(words).(*Buf)
	}
	a.c.d.HtoD(a.recDev.ptr, unsafe.Pointer(&a.rec[0]), 4*words)

	k, tmp := kAugment, dst
	if size > augSmem {
		// Too big for shared memory: work in dst and a second global buffer.
		if a.tmpDev == nil || a.tmpDev.n < len(idx)*size {
			a.tmpDev = a.c.Alloc(len(idx) * size).(*Buf)
		}
		k, tmp = kAugmentGlobal, a.tmpDev
	}
	m, s := a.mean, a.std
	a.c.launch(k, Dim3{len(idx), 1, 1}, Dim3{augThreads, 1, 1},
		P(a.pix), P(a.recDev), P(a.recDev), I(stride), P(dst), P(tmp),
		I(a.ch), I(a.sh), I(a.sw), I(a.h), I(a.w),
		F(m[0]), F(m[1]), F(m[2]), F(s[0]), F(s[1]), F(s[2]))
}

// pack writes a.draw for dataset image i into the record r, all of it: r
// is reused.
func (a *deviceAugmenter) pack(r []int32, i int) {
	d := &a.draw
	f := func(x float32) int32 { return int32(math.Float32bits(x)) }
	flags := int32(0)
	for _, b := range [...]struct {
		on   bool
		flag int32
	}{{d.Rotate, flagRotate}, {d.Flip, flagFlip}, {d.Gray, flagGray}, {d.Solarize, flagSolarize}, {d.Noise, flagNoise}} {
		if b.on {
			flags |= b.flag
		}
	}
	clear(r)
	r[recIdx], r[recFlags] = int32(i), flags
	r[recTop], r[recLeft], r[recH], r[recW] = int32(d.Top), int32(d.Left), int32(d.H), int32(d.W)
	r[recCos], r[recSin] = f(d.Cos), f(d.Sin)
	r[recNJit] = int32(d.NJitter)
	for k, op := range d.Jitter {
		r[recOrder+k] = int32(op)
	}
	r[recFB], r[recFB+1], r[recFB+2], r[recFB+3] = f(d.Brightness), f(d.Contrast), f(d.Saturation), f(d.HueFactor)
	r[recBlur] = int32(d.Blur)
	for k, t := range d.Kernel[:d.Blur] {
		r[recTaps+k] = f(t)
	}
	r[recThresh], r[recNStd] = f(d.Threshold), f(d.NoiseStd)
	r[recKeyLo], r[recKeyHi] = int32(uint32(d.NoiseKey)), int32(uint32(d.NoiseKey>>32))
}
