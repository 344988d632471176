package augment

import (
	"fmt"
	"math"
)

// Config is the whole augmentation setup: one pipeline per view and the
// normalisation both views share. Fields are plain values so a YAML/JSON file,
// CLI flags or a live UI knob can set any one of them.
type Config struct {
	// Views[0] is the paper's T (online view), Views[1] is T'.
	Views     [2]Pipeline `yaml:"views" json:"views"`
	Normalize Normalize   `yaml:"normalize" json:"normalize"`
}

// Pipeline is one view's chain, applied in this order (the paper's, plus the
// lab's rotation and noise): crop → rotate → flip → colour jitter → grayscale → blur → solarize →
// noise → clamp to [0,1] → normalise.
//
// Every transform has Enabled and P. Enabled=false switches it off whatever P
// says, so an ablation is a one-field change; P is validated either way, but
// the other parameters only when the transform is enabled, so a zero block is
// a valid "off".
type Pipeline struct {
	Crop      Crop      `yaml:"crop" json:"crop"`
	Rotate    Rotate    `yaml:"rotate" json:"rotate"`
	Flip      Flip      `yaml:"flip" json:"flip"`
	Jitter    Jitter    `yaml:"jitter" json:"jitter"`
	Grayscale Grayscale `yaml:"grayscale" json:"grayscale"`
	Blur      Blur      `yaml:"blur" json:"blur"`
	Solarize  Solarize  `yaml:"solarize" json:"solarize"`
	Noise     Noise     `yaml:"noise" json:"noise"`
}

// Crop is torchvision's RandomResizedCrop: a box of a random fraction of the
// area (AreaMin..AreaMax) and log-uniform aspect ratio w/h (AspectMin..AspectMax),
// resized bilinearly back to the model's H×W. When not applied the whole
// image is used (resized only if the dataset's size differs from the model's).
type Crop struct {
	Enabled   bool    `yaml:"enabled" json:"enabled"`
	P         float64 `yaml:"p" json:"p"`
	AreaMin   float64 `yaml:"area_min" json:"area_min"`
	AreaMax   float64 `yaml:"area_max" json:"area_max"`
	AspectMin float64 `yaml:"aspect_min" json:"aspect_min"`
	AspectMax float64 `yaml:"aspect_max" json:"aspect_max"`
}

// Rotate turns the image by an angle drawn uniformly from ±Degrees about its
// centre (bilinear, edges replicated). Not in the paper: the lab adds it for
// datasets like shapes, whose objects come in every orientation, so that
// edge orientation — shared by both views otherwise — stops being a shortcut.
type Rotate struct {
	Enabled bool    `yaml:"enabled" json:"enabled"`
	P       float64 `yaml:"p" json:"p"`
	Degrees float64 `yaml:"degrees" json:"degrees"`
}

// Flip mirrors the image left–right.
type Flip struct {
	Enabled bool    `yaml:"enabled" json:"enabled"`
	P       float64 `yaml:"p" json:"p"`
}

// JitterOrder says in which order colour jitter applies its four operations.
type JitterOrder string

const (
	// JitterRandom draws a random order per sample (torchvision ColorJitter,
	// the paper's choice). The empty string means the same.
	JitterRandom JitterOrder = "random"
	// JitterFixed always applies brightness, contrast, saturation, hue in this
	// order (the MNIST preset's "brightness then contrast").
	JitterFixed JitterOrder = "fixed"
)

// Jitter is torchvision's ColorJitter wrapped in RandomApply(p): factors
// b, c, s ~ U(max(0,1-x), 1+x) and a hue shift ~ U(-Hue, Hue); a strength of 0
// skips that operation. Saturation and hue do nothing to 1-channel images.
type Jitter struct {
	Enabled    bool        `yaml:"enabled" json:"enabled"`
	P          float64     `yaml:"p" json:"p"`
	Brightness float64     `yaml:"brightness" json:"brightness"`
	Contrast   float64     `yaml:"contrast" json:"contrast"`
	Saturation float64     `yaml:"saturation" json:"saturation"`
	Hue        float64     `yaml:"hue" json:"hue"`
	Order      JitterOrder `yaml:"order" json:"order"`
}

// Grayscale replaces RGB by its luma (0.299, 0.587, 0.114) in all three
// channels; it does nothing to 1-channel images.
type Grayscale struct {
	Enabled bool    `yaml:"enabled" json:"enabled"`
	P       float64 `yaml:"p" json:"p"`
}

// MaxKernel is the largest blur kernel; kernel weights live on the stack.
const MaxKernel = 63

// Blur is a Gaussian blur with σ ~ U(SigmaMin, SigmaMax) and a Kernel×Kernel
// window (odd), reflect-padded like torchvision. The paper uses 23 px at 224;
// scaled down that is about 3 px at 32.
type Blur struct {
	Enabled  bool    `yaml:"enabled" json:"enabled"`
	P        float64 `yaml:"p" json:"p"`
	SigmaMin float64 `yaml:"sigma_min" json:"sigma_min"`
	SigmaMax float64 `yaml:"sigma_max" json:"sigma_max"`
	Kernel   int     `yaml:"kernel" json:"kernel"`
}

// Solarize inverts pixels at or above Threshold: x ≥ t → 1-x.
type Solarize struct {
	Enabled   bool    `yaml:"enabled" json:"enabled"`
	P         float64 `yaml:"p" json:"p"`
	Threshold float64 `yaml:"threshold" json:"threshold"`
}

// Noise adds Std·N(0,1) to every pixel (the clamp afterwards keeps [0,1]).
type Noise struct {
	Enabled bool    `yaml:"enabled" json:"enabled"`
	P       float64 `yaml:"p" json:"p"`
	Std     float64 `yaml:"std" json:"std"`
}

// Normalize maps each channel to (x-Mean)/Std after the clamp. A single value
// applies to every channel.
type Normalize struct {
	Mean []float64 `yaml:"mean" json:"mean"`
	Std  []float64 `yaml:"std" json:"std"`
}

// Validate checks the config for images with the given channel count.
func (c *Config) Validate(channels int) error {
	for v := range c.Views {
		if err := c.Views[v].validate(); err != nil {
			return fmt.Errorf("augment: views[%d].%w", v, err)
		}
	}
	n := c.Normalize
	if len(n.Mean) != len(n.Std) || (len(n.Mean) != 1 && len(n.Mean) != channels) {
		return fmt.Errorf("augment: normalize: %d means and %d stds for %d channels (want 1 or %d of each)",
			len(n.Mean), len(n.Std), channels, channels)
	}
	for i := range n.Mean {
		if !finite(n.Mean[i]) || !(n.Std[i] > 0) || !finite(n.Std[i]) {
			return fmt.Errorf("augment: normalize: channel %d has mean %v std %v (std must be > 0)", i, n.Mean[i], n.Std[i])
		}
	}
	return nil
}

func (p *Pipeline) validate() error {
	for _, t := range []struct {
		name string
		p    float64
	}{{"crop", p.Crop.P}, {"rotate", p.Rotate.P}, {"flip", p.Flip.P}, {"jitter", p.Jitter.P}, {"grayscale", p.Grayscale.P},
		{"blur", p.Blur.P}, {"solarize", p.Solarize.P}, {"noise", p.Noise.P}} {
		if !(t.p >= 0 && t.p <= 1) {
			return fmt.Errorf("%s: probability %v outside [0,1]", t.name, t.p)
		}
	}
	if c := p.Crop; c.Enabled {
		if err := checkRange("crop: area", c.AreaMin, c.AreaMax, 0, 1); err != nil {
			return err
		}
		if err := checkRange("crop: aspect", c.AspectMin, c.AspectMax, 0, math.Inf(1)); err != nil {
			return err
		}
	}
	if r := p.Rotate; r.Enabled && !(r.Degrees >= 0 && r.Degrees <= 180) {
		return fmt.Errorf("rotate: degrees %v outside [0,180]", r.Degrees)
	}
	if j := p.Jitter; j.Enabled {
		for _, s := range []struct {
			name string
			v    float64
		}{{"brightness", j.Brightness}, {"contrast", j.Contrast}, {"saturation", j.Saturation}} {
			if !(s.v >= 0) || !finite(s.v) {
				return fmt.Errorf("jitter: %s strength %v must be >= 0", s.name, s.v)
			}
		}
		if !(j.Hue >= 0 && j.Hue <= 0.5) {
			return fmt.Errorf("jitter: hue strength %v outside [0,0.5]", j.Hue)
		}
		if j.Order != "" && j.Order != JitterRandom && j.Order != JitterFixed {
			return fmt.Errorf("jitter: order %q (want %q or %q)", j.Order, JitterRandom, JitterFixed)
		}
	}
	if b := p.Blur; b.Enabled {
		if b.Kernel < 1 || b.Kernel > MaxKernel || b.Kernel%2 == 0 {
			return fmt.Errorf("blur: kernel %d must be odd and in [1,%d]", b.Kernel, MaxKernel)
		}
		if err := checkRange("blur: sigma", b.SigmaMin, b.SigmaMax, 0, math.Inf(1)); err != nil {
			return err
		}
	}
	if s := p.Solarize; s.Enabled && !(s.Threshold >= 0 && s.Threshold <= 1) {
		return fmt.Errorf("solarize: threshold %v outside [0,1]", s.Threshold)
	}
	if n := p.Noise; n.Enabled && (!(n.Std >= 0) || !finite(n.Std)) {
		return fmt.Errorf("noise: std %v must be >= 0", n.Std)
	}
	return nil
}

// checkRange checks floor < lo <= hi <= ceil.
func checkRange(name string, lo, hi, floor, ceil float64) error {
	if !(lo > floor && lo <= hi && hi <= ceil && finite(hi)) {
		return fmt.Errorf("%s range [%v,%v] must satisfy %v < min <= max <= %v", name, lo, hi, floor, ceil)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// transform describes one switchable transform of a Pipeline: where its
// Enabled field lives and how to fill its block from a reference pipeline.
type transform struct {
	name    string
	enabled func(p *Pipeline) *bool
	fill    func(p, ref *Pipeline) // copy ref's block if p's was never configured
}

// fillZero sets *dst to src when *dst is the zero value.
func fillZero[T comparable](dst *T, src T) {
	var zero T
	if *dst == zero {
		*dst = src
	}
}

var transforms = []transform{
	{"crop", func(p *Pipeline) *bool { return &p.Crop.Enabled }, func(p, r *Pipeline) { fillZero(&p.Crop, r.Crop) }},
	{"rotate", func(p *Pipeline) *bool { return &p.Rotate.Enabled }, func(p, r *Pipeline) { fillZero(&p.Rotate, r.Rotate) }},
	{"flip", func(p *Pipeline) *bool { return &p.Flip.Enabled }, func(p, r *Pipeline) { fillZero(&p.Flip, r.Flip) }},
	{"jitter", func(p *Pipeline) *bool { return &p.Jitter.Enabled }, func(p, r *Pipeline) { fillZero(&p.Jitter, r.Jitter) }},
	{"grayscale", func(p *Pipeline) *bool { return &p.Grayscale.Enabled }, func(p, r *Pipeline) { fillZero(&p.Grayscale, r.Grayscale) }},
	{"blur", func(p *Pipeline) *bool { return &p.Blur.Enabled }, func(p, r *Pipeline) { fillZero(&p.Blur, r.Blur) }},
	{"solarize", func(p *Pipeline) *bool { return &p.Solarize.Enabled }, func(p, r *Pipeline) { fillZero(&p.Solarize, r.Solarize) }},
	{"noise", func(p *Pipeline) *bool { return &p.Noise.Enabled }, func(p, r *Pipeline) { fillZero(&p.Noise, r.Noise) }},
}

// Transforms names the switchable transforms, in pipeline order.
var Transforms = func() []string {
	names := make([]string, len(transforms))
	for i, t := range transforms {
		names[i] = t.name
	}
	return names
}()

func lookup(name string) (transform, error) {
	for _, t := range transforms {
		if t.name == name {
			return t, nil
		}
	}
	return transform{}, fmt.Errorf("augment: unknown transform %q (want one of %v)", name, Transforms)
}

// Disable switches the named transform off in both views. Its parameters
// stay, so Enable restores them.
func (c *Config) Disable(name string) error {
	t, err := lookup(name)
	if err != nil {
		return err
	}
	for v := range c.Views {
		*t.enabled(&c.Views[v]) = false
	}
	return nil
}

// Enable switches the named transform on in both views. A block that was
// never configured (all zero, as mnist's flip) is first filled from ref's,
// so that "on" does something.
func (c *Config) Enable(name string, ref Config) error {
	t, err := lookup(name)
	if err != nil {
		return err
	}
	for v := range c.Views {
		p := &c.Views[v]
		*t.enabled(p) = false
		t.fill(p, &ref.Views[v])
		*t.enabled(p) = true
	}
	return nil
}

// IsOn reports whether the named transform is on in either view.
func (c *Config) IsOn(name string) (bool, error) {
	t, err := lookup(name)
	if err != nil {
		return false, err
	}
	for v := range c.Views {
		if *t.enabled(&c.Views[v]) {
			return true, nil
		}
	}
	return false, nil
}
