// Package optim holds the optimisers (LARS, SGD with momentum, AdamW) and the
// learning-rate and EMA schedules. Updates run as backend kernels over a
// network's flat parameter buffer.
package optim

import (
	"fmt"
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/nn"
)

// Names lists the optimisers. "adam" is AdamW with no weight decay.
var Names = []string{"lars", "sgd", "adamw", "adam"}

// Config holds an optimiser's hyper-parameters.
type Config struct {
	Name        string  `yaml:"name" json:"name"`
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
	Momentum    float64 `yaml:"momentum" json:"momentum"` // SGD and LARS
	Trust       float64 `yaml:"trust" json:"trust"`       // LARS η
	Beta1       float64 `yaml:"beta1" json:"beta1"`       // Adam
	Beta2       float64 `yaml:"beta2" json:"beta2"`       // Adam
	Eps         float64 `yaml:"eps" json:"eps"`           // Adam
}

// Validate reports a bad configuration.
func (c Config) Validate() error {
	switch c.Name {
	case "lars", "sgd", "adamw", "adam":
	default:
		return fmt.Errorf("optim: unknown optimizer %q (want one of %v)", c.Name, Names)
	}
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	if bad(c.WeightDecay) || c.WeightDecay < 0 {
		return fmt.Errorf("optim: weight decay %v must be a finite value ≥ 0", c.WeightDecay)
	}
	if bad(c.Momentum) || c.Momentum < 0 || c.Momentum >= 1 {
		return fmt.Errorf("optim: momentum %v outside [0, 1)", c.Momentum)
	}
	if c.Name == "adam" || c.Name == "adamw" {
		if bad(c.Beta1) || bad(c.Beta2) || c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 {
			return fmt.Errorf("optim: Adam betas (%v, %v) outside [0, 1)", c.Beta1, c.Beta2)
		}
		if bad(c.Eps) || c.Eps <= 0 {
			return fmt.Errorf("optim: Adam eps %v must be > 0", c.Eps)
		}
	}
	if c.Name == "lars" && (bad(c.Trust) || c.Trust <= 0) {
		return fmt.Errorf("optim: LARS trust coefficient %v must be > 0", c.Trust)
	}
	return nil
}

// Optimizer updates one network's parameters from its gradients.
type Optimizer struct {
	cfg    Config
	b      backend.Backend
	ps     *nn.Params
	s1, s2 backend.Buffer // momentum / Adam's first moment; Adam's second moment
	steps  int            // Adam's bias-correction counter
}

// New allocates the optimiser state for ps.
func New(b backend.Backend, cfg Config, ps *nn.Params) (*Optimizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Optimizer{cfg: cfg, b: b, ps: ps, s1: b.Alloc(max(ps.Len(), 1))}
	if cfg.Name == "adam" || cfg.Name == "adamw" {
		o.s2 = b.Alloc(max(ps.Len(), 1))
	}
	return o, nil
}

// Segments describes ps for the optimiser kernels: weights get weight decay
// and LARS adaptation; biases and BatchNorm parameters get neither, as in
// the BYOL paper. lrScale(p) gives each parameter's learning-rate multiplier.
func Segments(ps *nn.Params, include func(*nn.Param) bool, lrScale func(*nn.Param) float64) []backend.Segment {
	var segs []backend.Segment
	for _, p := range ps.List {
		if include != nil && !include(p) {
			continue
		}
		s := 1.0
		if lrScale != nil {
			s = lrScale(p)
		}
		w := p.Kind == nn.Weight
		segs = append(segs, backend.Segment{Off: p.Off, Len: p.Len(), LRScale: float32(s), Decay: w, Adapt: w})
	}
	return segs
}

// Step applies one update with learning rate lr to the listed segments.
func (o *Optimizer) Step(lr float64, segs []backend.Segment) {
	c := o.cfg
	switch c.Name {
	case "adam", "adamw":
		o.steps++
		wd := c.WeightDecay
		if c.Name == "adam" {
			wd = 0
		}
		o.b.AdamW(o.ps.W, o.ps.G, o.s1, o.s2, segs, backend.AdamHyper{
			LR: float32(lr), Beta1: float32(c.Beta1), Beta2: float32(c.Beta2), Eps: float32(c.Eps),
			WeightDecay: float32(wd), Step: o.steps})
	case "sgd":
		o.b.SGD(o.ps.W, o.ps.G, o.s1, segs, backend.SGDHyper{LR: float32(lr), Momentum: float32(c.Momentum), WeightDecay: float32(c.WeightDecay)})
	case "lars":
		o.b.LARS(o.ps.W, o.ps.G, o.s1, segs, backend.SGDHyper{LR: float32(lr), Momentum: float32(c.Momentum),
			WeightDecay: float32(c.WeightDecay), Trust: float32(c.Trust)})
	}
}

// State returns the optimiser's buffers and step counter, for checkpoints.
func (o *Optimizer) State() (s1, s2 backend.Buffer, steps int) { return o.s1, o.s2, o.steps }

// SetSteps restores Adam's bias-correction counter from a checkpoint.
func (o *Optimizer) SetSteps(n int) { o.steps = n }
