package lab

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/byol-lab/byol-lab/core/augment"
	"github.com/byol-lab/byol-lab/core/byol"
)

// Knobs is a change to the live knobs of a run: every non-nil field is set,
// the others keep their value. It is what a UI sends and what Set and Fork
// take. Structural options (dataset, arch, head widths, optimiser, seed)
// are not knobs: they need a new run.
type Knobs struct {
	Predictor   *bool    `json:"predictor,omitempty" yaml:"predictor,omitempty"`
	PredLRMult  *float64 `json:"pred_lr_mult,omitempty" yaml:"pred_lr_mult,omitempty"`
	TauBase     *float64 `json:"tau_base,omitempty" yaml:"tau_base,omitempty"`
	TauSchedule *string  `json:"tau_schedule,omitempty" yaml:"tau_schedule,omitempty"` // cosine | constant
	LR          *float64 `json:"lr,omitempty" yaml:"lr,omitempty"`                     // base rate for batch 256
	LRSchedule  *string  `json:"lr_schedule,omitempty" yaml:"lr_schedule,omitempty"`   // cosine | constant
	Batch       *int     `json:"batch,omitempty" yaml:"batch,omitempty"`
	Steps       *int     `json:"steps,omitempty" yaml:"steps,omitempty"` // schedule length; the run pauses there
	// Augment switches transforms (names from augment.Transforms) on or off
	// in both views.
	Augment map[string]bool `json:"augment,omitempty" yaml:"augment,omitempty"`
}

// KnobValues are the current live knobs of a run.
type KnobValues struct {
	Predictor   bool            `json:"predictor"`
	PredLRMult  float64         `json:"pred_lr_mult"`
	TauBase     float64         `json:"tau_base"`
	TauSchedule string          `json:"tau_schedule"`
	LR          float64         `json:"lr"`
	LRSchedule  string          `json:"lr_schedule"`
	Batch       int             `json:"batch"`
	Steps       int             `json:"steps"`
	Augment     map[string]bool `json:"augment"` // every transform: on in either view
}

// maxSteps bounds a run's schedule length; beyond it a typo, not a plan.
const maxSteps = 100_000_000

// Validate checks the values the patch sets, independently of any run, and
// names the first bad one. (The lab also applies its own batch limit.)
func (k *Knobs) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case k.PredLRMult != nil && !(finite(*k.PredLRMult) && *k.PredLRMult >= 0):
		return fmt.Errorf("pred_lr_mult %v must be a finite value ≥ 0", *k.PredLRMult)
	case k.TauBase != nil && !(*k.TauBase >= 0 && *k.TauBase <= 1):
		return fmt.Errorf("tau_base %v outside [0, 1]", *k.TauBase)
	case k.TauSchedule != nil && *k.TauSchedule != "cosine" && *k.TauSchedule != "constant":
		return fmt.Errorf("tau_schedule %q: want cosine or constant", *k.TauSchedule)
	case k.LR != nil && !(finite(*k.LR) && *k.LR > 0):
		return fmt.Errorf("lr %v must be a finite value > 0", *k.LR)
	case k.LRSchedule != nil && *k.LRSchedule != "cosine" && *k.LRSchedule != "constant":
		return fmt.Errorf("lr_schedule %q: want cosine or constant", *k.LRSchedule)
	case k.Batch != nil && (*k.Batch < 2 || *k.Batch > 65536):
		return fmt.Errorf("batch %d outside [2, 65536] (BatchNorm needs at least 2)", *k.Batch)
	case k.Steps != nil && (*k.Steps < 1 || *k.Steps > maxSteps):
		return fmt.Errorf("steps %d outside [1, %d]", *k.Steps, maxSteps)
	}
	for name := range k.Augment {
		if !slices.Contains(augment.Transforms, name) {
			return fmt.Errorf("unknown augmentation %q (want one of %s)", name, strings.Join(augment.Transforms, ", "))
		}
	}
	return nil
}

// applyTo validates k and writes it into c. On error c may be half changed,
// so callers pass a copy.
func (k *Knobs) applyTo(c *byol.Config) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if k.Predictor != nil {
		c.Predictor = *k.Predictor
	}
	if k.PredLRMult != nil {
		c.PredLRMult = *k.PredLRMult
	}
	if k.TauBase != nil {
		c.TauBase = *k.TauBase
	}
	if k.TauSchedule != nil {
		c.TauSchedule = *k.TauSchedule
	}
	if k.LR != nil {
		c.LR = *k.LR
	}
	if k.LRSchedule != nil {
		c.LRSchedule = *k.LRSchedule
	}
	if k.Batch != nil {
		c.Batch = *k.Batch
	}
	if k.Steps != nil {
		c.Steps = *k.Steps
	}
	for _, name := range sortedKeys(k.Augment) {
		if err := setTransform(&c.Augment, name, k.Augment[name]); err != nil {
			return err
		}
	}
	return nil
}

// String describes the patch for notices: "predictor off, lr 0.01".
func (k *Knobs) String() string {
	var s []string
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	if k.Predictor != nil {
		s = append(s, "predictor "+onOff(*k.Predictor))
	}
	if k.PredLRMult != nil {
		s = append(s, fmt.Sprintf("pred_lr_mult %g", *k.PredLRMult))
	}
	if k.TauBase != nil {
		s = append(s, fmt.Sprintf("tau_base %g", *k.TauBase))
	}
	if k.TauSchedule != nil {
		s = append(s, "tau_schedule "+*k.TauSchedule)
	}
	if k.LR != nil {
		s = append(s, fmt.Sprintf("lr %g", *k.LR))
	}
	if k.LRSchedule != nil {
		s = append(s, "lr_schedule "+*k.LRSchedule)
	}
	if k.Batch != nil {
		s = append(s, fmt.Sprintf("batch %d", *k.Batch))
	}
	if k.Steps != nil {
		s = append(s, fmt.Sprintf("steps %d", *k.Steps))
	}
	for _, name := range sortedKeys(k.Augment) {
		s = append(s, name+" "+onOff(k.Augment[name]))
	}
	if len(s) == 0 {
		return "no change"
	}
	return strings.Join(s, ", ")
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// knobValues reads the live knobs of c.
func knobValues(c *byol.Config) KnobValues {
	v := KnobValues{
		Predictor: c.Predictor, PredLRMult: c.PredLRMult,
		TauBase: c.TauBase, TauSchedule: c.TauSchedule,
		LR: c.LR, LRSchedule: c.LRSchedule, Batch: c.Batch, Steps: c.Steps,
		Augment: map[string]bool{},
	}
	for _, name := range augment.Transforms {
		v.Augment[name] = transformOn(&c.Augment, name)
	}
	return v
}

// transformOn reports whether the named transform is enabled in either view.
func transformOn(c *augment.Config, name string) bool {
	on, _ := c.IsOn(name)
	return on
}

// setTransform switches the named transform on or off in both views.
// Switching off keeps the parameters, so switching on again restores them. A
// block that was never configured (all zero, as mnist's flip and colour) is
// filled from the RGB preset, the paper's table, so that "on" does something.
func setTransform(c *augment.Config, name string, on bool) error {
	if !on {
		return c.Disable(name)
	}
	ref, err := augment.Preset("shapes")
	if err != nil {
		return err
	}
	return c.Enable(name, ref)
}
