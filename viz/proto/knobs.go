package proto

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
)

// Augmentation names, the keys of Knobs.Augment. Each switches one transform
// of both view pipelines on or off (core/augment).
const (
	AugCrop      = "crop"
	AugRotate    = "rotate"
	AugFlip      = "flip"
	AugJitter    = "jitter"
	AugGrayscale = "grayscale"
	AugBlur      = "blur"
	AugSolarize  = "solarize"
	AugNoise     = "noise"
)

// AugmentNames lists the augmentation names in pipeline order.
var AugmentNames = []string{AugCrop, AugRotate, AugFlip, AugJitter, AugGrayscale, AugBlur, AugSolarize, AugNoise}

// IsAugmentName reports whether name is one of AugmentNames.
func IsAugmentName(name string) bool { return slices.Contains(AugmentNames, name) }

// τ schedules: cosine ramps τ from TauBase to 1 over the run (the paper);
// constant keeps τ = TauBase.
const (
	TauCosine   = "cosine"
	TauConstant = "constant"
)

// Ranges of the live knobs. Both sides check them: the server rejects a
// command outside them, and the client can clamp its sliders to them.
const (
	MinTauBase    = 0.0
	MaxTauBase    = 1.0
	MaxLR         = 10.0 // lr must be > 0 and ≤ MaxLR
	MinBatch      = 2    // BatchNorm needs two samples per view
	MaxBatch      = 4096
	MinPredLRMult = 0.0
	MaxPredLRMult = 100.0
)

// Knobs are the settings of a run that can change while it trains; the
// server applies a change at the next step boundary.
type Knobs struct {
	// Predictor routes the online projection through the predictor. Off, the
	// online network predicts the target projection with its own projection:
	// BYOL without its asymmetry, which collapses.
	Predictor bool `json:"predictor"`
	// TauBase is the EMA rate τ of the target network, in [0, 1]: 1 freezes
	// the target, 0 makes it a copy of the online network.
	TauBase float64 `json:"tau_base"`
	// TauSchedule is TauCosine or TauConstant.
	TauSchedule string `json:"tau_schedule"`
	// LR is the base learning rate (for batch 256; the trainer scales it by
	// batch/256), in (0, MaxLR].
	LR float64 `json:"lr"`
	// Batch is the number of images per step, in [MinBatch, MaxBatch].
	Batch int `json:"batch"`
	// PredLRMult multiplies the learning rate of the predictor, in
	// [MinPredLRMult, MaxPredLRMult].
	PredLRMult float64 `json:"pred_lr_mult"`
	// Augment switches each augmentation (keys from AugmentNames) on or off.
	// The server sends every name.
	Augment map[string]bool `json:"augment"`
}

// MarshalJSON writes a nil Augment as {} so JavaScript clients never see
// null where they expect an object.
func (k Knobs) MarshalJSON() ([]byte, error) {
	type plain Knobs
	p := plain(k)
	if p.Augment == nil {
		p.Augment = map[string]bool{}
	}
	return json.Marshal(p)
}

// Validate checks every field against its range. Field names in the error
// are the JSON names.
func (k *Knobs) Validate() error {
	if err := checkRange("tau_base", k.TauBase, MinTauBase, MaxTauBase); err != nil {
		return err
	}
	if err := checkTauSchedule("tau_schedule", k.TauSchedule); err != nil {
		return err
	}
	if err := checkLR("lr", k.LR); err != nil {
		return err
	}
	if err := checkBatch("batch", k.Batch); err != nil {
		return err
	}
	if err := checkRange("pred_lr_mult", k.PredLRMult, MinPredLRMult, MaxPredLRMult); err != nil {
		return err
	}
	return checkAugment("augment", k.Augment)
}

// KnobsPatch is a partial change of Knobs: nil fields (and augmentations
// absent from Augment) keep their value. It is the argument of the set and
// fork commands.
type KnobsPatch struct {
	Predictor   *bool           `json:"predictor,omitempty"`
	TauBase     *float64        `json:"tau_base,omitempty"`
	TauSchedule *string         `json:"tau_schedule,omitempty"`
	LR          *float64        `json:"lr,omitempty"`
	Batch       *int            `json:"batch,omitempty"`
	PredLRMult  *float64        `json:"pred_lr_mult,omitempty"`
	Augment     map[string]bool `json:"augment,omitempty"`
}

// IsEmpty reports whether the patch changes nothing.
func (p *KnobsPatch) IsEmpty() bool {
	return p.Predictor == nil && p.TauBase == nil && p.TauSchedule == nil && p.LR == nil &&
		p.Batch == nil && p.PredLRMult == nil && len(p.Augment) == 0
}

// Validate checks every field that is set against the range of Knobs.
func (p *KnobsPatch) Validate() error {
	if p.TauBase != nil {
		if err := checkRange("tau_base", *p.TauBase, MinTauBase, MaxTauBase); err != nil {
			return err
		}
	}
	if p.TauSchedule != nil {
		if err := checkTauSchedule("tau_schedule", *p.TauSchedule); err != nil {
			return err
		}
	}
	if p.LR != nil {
		if err := checkLR("lr", *p.LR); err != nil {
			return err
		}
	}
	if p.Batch != nil {
		if err := checkBatch("batch", *p.Batch); err != nil {
			return err
		}
	}
	if p.PredLRMult != nil {
		if err := checkRange("pred_lr_mult", *p.PredLRMult, MinPredLRMult, MaxPredLRMult); err != nil {
			return err
		}
	}
	return checkAugment("augment", p.Augment)
}

// Apply returns k with the patch applied. k is not modified; the result's
// Augment map is a fresh copy.
func (p *KnobsPatch) Apply(k Knobs) Knobs {
	k.Augment = maps.Clone(k.Augment)
	if p.Predictor != nil {
		k.Predictor = *p.Predictor
	}
	if p.TauBase != nil {
		k.TauBase = *p.TauBase
	}
	if p.TauSchedule != nil {
		k.TauSchedule = *p.TauSchedule
	}
	if p.LR != nil {
		k.LR = *p.LR
	}
	if p.Batch != nil {
		k.Batch = *p.Batch
	}
	if p.PredLRMult != nil {
		k.PredLRMult = *p.PredLRMult
	}
	if len(p.Augment) > 0 && k.Augment == nil {
		k.Augment = make(map[string]bool, len(p.Augment))
	}
	maps.Copy(k.Augment, p.Augment)
	return k
}

func checkTauSchedule(field, s string) error {
	if s != TauCosine && s != TauConstant {
		return errf(field, "must be %q or %q, got %s", TauCosine, TauConstant, quote(s))
	}
	return nil
}

func checkLR(field string, lr float64) error {
	if math.IsNaN(lr) || math.IsInf(lr, 0) {
		return errf(field, "must be a finite number, got %v", lr)
	}
	if !(lr > 0 && lr <= MaxLR) {
		return errf(field, "must be in (0, %g], got %g", MaxLR, lr)
	}
	return nil
}

func checkBatch(field string, b int) error {
	if b < MinBatch || b > MaxBatch {
		return errf(field, "must be in %d..%d, got %d", MinBatch, MaxBatch, b)
	}
	return nil
}

func checkAugment(field string, m map[string]bool) error {
	// Sorted, so that the error names the same key every time.
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !IsAugmentName(name) {
			return errf(field, "unknown augmentation %s (known: %v)", quote(name), AugmentNames)
		}
	}
	return nil
}
