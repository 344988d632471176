// Package byol is the BYOL trainer: two augmented views → online network
// (encoder, projector, predictor) and target network (encoder, projector) →
// symmetric 2−2cos loss → backward through the online network only →
// optimiser → EMA of the target. With method simclr the same trainer runs
// SimCLR instead (one network, NT-Xent loss), as a contrastive baseline. It
// also embeds images and computes the evaluation metrics the CLI and the lab
// report.
package byol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/byol-lab/byol-lab/core/augment"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/model"
	"github.com/byol-lab/byol-lab/core/optim"
)

// Config is every option of a training run. A YAML file may set any subset;
// Defaults supplies the rest for the chosen dataset.
type Config struct {
	// Method is the objective: byol, or simclr (Chen et al. 2020: NT-Xent
	// over the projections, no predictor, no EMA target; see Trainer.Step).
	Method      string  `yaml:"method" json:"method"`
	Temperature float64 `yaml:"temperature" json:"temperature"` // SimCLR's T; unused by byol

	Dataset string `yaml:"dataset" json:"dataset"`
	DataDir string `yaml:"data_dir" json:"data_dir"`

	Arch       string  `yaml:"arch" json:"arch"`
	Width      float64 `yaml:"width" json:"width"` // resnet18 channel multiplier
	ProjHidden int     `yaml:"proj_hidden" json:"proj_hidden"`
	ProjOut    int     `yaml:"proj_out" json:"proj_out"`
	PredHidden int     `yaml:"pred_hidden" json:"pred_hidden"`
	HeadBN     bool    `yaml:"head_bn" json:"head_bn"` // BatchNorm in projector and predictor

	Predictor  bool    `yaml:"predictor" json:"predictor"`
	PredLRMult float64 `yaml:"pred_lr_mult" json:"pred_lr_mult"`

	Batch       int          `yaml:"batch" json:"batch"`
	Steps       int          `yaml:"steps" json:"steps"`
	LR          float64      `yaml:"lr" json:"lr"`                   // base rate for batch 256; scaled by batch/256
	LRSchedule  string       `yaml:"lr_schedule" json:"lr_schedule"` // cosine | constant
	WarmupSteps int          `yaml:"warmup_steps" json:"warmup_steps"`
	Optimizer   optim.Config `yaml:"optimizer" json:"optimizer"`

	TauBase     float64 `yaml:"tau_base" json:"tau_base"`
	TauSchedule string  `yaml:"tau_schedule" json:"tau_schedule"` // cosine | constant

	Augment augment.Config `yaml:"augment" json:"augment"`

	Seed            uint64     `yaml:"seed" json:"seed"`
	EvalEvery       int        `yaml:"eval_every" json:"eval_every"`
	CheckpointEvery int        `yaml:"checkpoint_every" json:"checkpoint_every"`
	Eval            EvalConfig `yaml:"eval" json:"eval"`
	Threads         int        `yaml:"threads" json:"threads"` // 0 = all cores
	Device          string     `yaml:"device" json:"device"`
}

// EvalConfig sizes the evaluation sets.
type EvalConfig struct {
	BankSize   int     `yaml:"bank_size" json:"bank_size"`     // labelled training images for kNN
	QuerySize  int     `yaml:"query_size" json:"query_size"`   // test images classified by kNN
	MetricSize int     `yaml:"metric_size" json:"metric_size"` // test images for std / rank / spectrum
	K          int     `yaml:"k" json:"k"`
	Temp       float64 `yaml:"temp" json:"temp"`
}

// Defaults returns the configuration for a dataset. The mnist defaults are the
// reference configuration the PyTorch parity numbers were measured with.
func Defaults(dataset string) (Config, error) {
	aug, err := augment.Preset(dataset)
	if err != nil {
		return Config{}, err
	}
	c := Config{
		Method: MethodBYOL, Temperature: defaultTemperature,
		Dataset: dataset, Arch: "tiny", Width: 1,
		ProjHidden: 512, ProjOut: 64, PredHidden: 512, HeadBN: true,
		Predictor: true, PredLRMult: 1,
		Batch: 256, Steps: 2000, LR: 1e-3, LRSchedule: "constant",
		Optimizer: optim.Config{Name: "adam", Momentum: 0.9, Trust: 0.001, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		TauBase:   0.99, TauSchedule: "cosine",
		Augment:   aug,
		EvalEvery: 500, CheckpointEvery: 500,
		Eval:   EvalConfig{BankSize: 10000, QuerySize: 10000, MetricSize: 1000, K: 20, Temp: 0.07},
		Device: "cpu",
	}
	return c, nil
}

// Load reads a YAML config file over the defaults of the dataset it names
// (or of dataset, when the file names none). Unknown keys are errors, so a
// typo does not silently train the wrong thing.
func Load(path, dataset string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	var peek struct {
		Dataset string `yaml:"dataset"`
	}
	if err := yaml.Unmarshal(raw, &peek); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if peek.Dataset != "" {
		dataset = peek.Dataset
	}
	c, err := Defaults(dataset)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// The methods a trainer runs.
const (
	MethodBYOL   = "byol"
	MethodSimCLR = "simclr"
)

// defaultTemperature is SimCLR's T unless a config sets it: 0.2, MoCo v2's
// value, between SimCLR's 0.1 for ImageNet (batches of thousands, hundreds
// of epochs) and its 0.5 for CIFAR-10; the lab's runs are short and their
// batches small, and T trades sharper separation of hard negatives (low T)
// against smoother, steadier gradients (high T).
const defaultTemperature = 0.2

// maxSimCLRBatch bounds SimCLR's batch: its loss holds a 2B×2B similarity
// matrix (float64 on the CPU), 0.5 GB at this size. SimCLR's own largest
// batch was 8192 on TPU pods.
const maxSimCLRBatch = 4096

// UsesPredictor reports whether steps train and use the predictor: BYOL
// with the predictor on. SimCLR ignores it (and τ): it has neither.
func (c Config) UsesPredictor() bool { return c.Method != MethodSimCLR && c.Predictor }

// Validate reports the first invalid option in plain words.
func (c *Config) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.Method != MethodBYOL && c.Method != MethodSimCLR:
		return fmt.Errorf("method %q: want byol or simclr", c.Method)
	case !finite(c.Temperature) || c.Temperature <= 0 || c.Temperature > 10:
		return fmt.Errorf("temperature %v outside (0, 10]", c.Temperature)
	case c.Method == MethodSimCLR && c.Batch > maxSimCLRBatch:
		return fmt.Errorf("batch %d: simclr allows at most %d (its loss compares all 2B×2B pairs)", c.Batch, maxSimCLRBatch)
	case !slices.Contains(data.Names(), c.Dataset):
		return fmt.Errorf("unknown dataset %q (want one of %v)", c.Dataset, data.Names())
	case !slices.Contains(model.Archs, c.Arch):
		return fmt.Errorf("unknown arch %q (want one of %v)", c.Arch, model.Archs)
	case c.Arch == "resnet18" && !(c.Width > 0 && c.Width <= 8):
		return fmt.Errorf("width %v outside (0, 8]", c.Width)
	case c.ProjHidden < 1 || c.ProjOut < 1 || c.PredHidden < 1 || c.ProjHidden > 16384 || c.ProjOut > 16384 || c.PredHidden > 16384:
		return fmt.Errorf("head widths (%d, %d, %d) must be in [1, 16384]", c.ProjHidden, c.ProjOut, c.PredHidden)
	case c.Batch < 2 || c.Batch > 65536:
		return fmt.Errorf("batch %d outside [2, 65536] (BatchNorm needs at least 2)", c.Batch)
	case c.Steps < 0:
		return fmt.Errorf("steps %d must be ≥ 0", c.Steps)
	case !finite(c.LR) || c.LR <= 0:
		return fmt.Errorf("lr %v must be a finite value > 0", c.LR)
	case c.LRSchedule != "cosine" && c.LRSchedule != "constant":
		return fmt.Errorf("lr_schedule %q: want cosine or constant", c.LRSchedule)
	case c.WarmupSteps < 0:
		return fmt.Errorf("warmup_steps %d must be ≥ 0", c.WarmupSteps)
	case !finite(c.PredLRMult) || c.PredLRMult < 0:
		return fmt.Errorf("pred_lr_mult %v must be ≥ 0", c.PredLRMult)
	case !finite(c.TauBase) || c.TauBase < 0 || c.TauBase > 1:
		return fmt.Errorf("tau_base %v outside [0, 1]", c.TauBase)
	case c.TauSchedule != "cosine" && c.TauSchedule != "constant":
		return fmt.Errorf("tau_schedule %q: want cosine or constant", c.TauSchedule)
	case c.EvalEvery < 0 || c.CheckpointEvery < 0:
		return fmt.Errorf("eval_every and checkpoint_every must be ≥ 0")
	case c.Eval.K < 1 || !finite(c.Eval.Temp) || c.Eval.Temp <= 0:
		return fmt.Errorf("eval: k %d must be ≥ 1 and temp %v > 0", c.Eval.K, c.Eval.Temp)
	case c.Eval.BankSize < 1 || c.Eval.QuerySize < 1 || c.Eval.MetricSize < 2:
		return fmt.Errorf("eval: bank, query and metric sizes must be positive")
	case c.Threads < 0:
		return fmt.Errorf("threads %d must be ≥ 0", c.Threads)
	case c.Device != "cpu" && c.Device != "cuda":
		return fmt.Errorf("device %q: want cpu or cuda", c.Device)
	}
	if err := c.Optimizer.Validate(); err != nil {
		return err
	}
	return nil
}

// TotalLR is the learning rate after the batch/256 scaling rule.
func (c *Config) TotalLR() float64 { return optim.ScaledLR(c.LR, c.Batch) }
