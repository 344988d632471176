package main

import (
	"flag"
	"fmt"
	"github.com/byol-lab/byol-lab/core/device"
	"strings"

	"github.com/byol-lab/byol-lab/core/augment"

	"github.com/byol-lab/byol-lab/core/byol"
)

// configFlags are the training options shared by train and bench. They are
// applied over the config file (or the dataset's defaults) only when given,
// so a flag always wins and an absent flag never resets the file's value.
type configFlags struct {
	config, dataset, dataDir, arch, optimizer, device string
	tauSchedule, augmentOff, method                   string
	predLRMult, temperature                           float64
	noHeadBN                                          bool
	batch, steps, evalEvery, ckptEvery, threads       int
	lr, tauBase, width                                float64
	seed                                              uint64
	noPredictor                                       bool
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "YAML file with any training options (flags override it)")
	fs.StringVar(&f.method, "method", "byol", "objective: byol, or simclr (contrastive NT-Xent baseline: no predictor, no EMA target)")
	fs.Float64Var(&f.temperature, "temperature", 0.2, "simclr: NT-Xent temperature T")
	fs.StringVar(&f.dataset, "dataset", "shapes", "dataset: shapes (embedded), mnist, cifar10, folder")
	fs.StringVar(&f.dataDir, "data-dir", "", "dataset files (mnist: defaults to the copy in the Go module cache)")
	fs.StringVar(&f.arch, "arch", "tiny", "encoder: mlp, tiny, small, resnet18")
	fs.Float64Var(&f.width, "width", 1, "resnet18 width multiplier")
	fs.IntVar(&f.batch, "batch", 256, "batch size (images; each gives two views)")
	fs.IntVar(&f.steps, "steps", 2000, "training steps")
	fs.StringVar(&f.optimizer, "optimizer", "adam", "optimizer: lars, sgd, adamw, adam")
	fs.Float64Var(&f.lr, "lr", 1e-3, "base learning rate for batch 256 (scaled by batch/256)")
	fs.Float64Var(&f.tauBase, "tau-base", 0.99, "EMA τ_base of the target network")
	fs.BoolVar(&f.noPredictor, "no-predictor", false, "train without the predictor (collapses)")
	fs.StringVar(&f.tauSchedule, "tau-schedule", "cosine", "τ schedule: cosine (τ_base → 1) or constant (τ = τ_base; 0 = stop-gradient copy, 1 = frozen target)")
	fs.Float64Var(&f.predLRMult, "pred-lr-mult", 1, "learning-rate multiplier of the predictor")
	fs.BoolVar(&f.noHeadBN, "no-head-bn", false, "no BatchNorm in projector and predictor")
	fs.StringVar(&f.augmentOff, "augment-off", "", "comma-separated augmentations to switch off in both views: "+strings.Join(augment.Transforms, ","))
	fs.Uint64Var(&f.seed, "seed", 0, "random seed (weights, batches, augmentations)")
	fs.IntVar(&f.evalEvery, "eval-every", 500, "evaluate every N steps (0: only at the end)")
	fs.IntVar(&f.ckptEvery, "checkpoint-every", 500, "checkpoint every N steps (0: only at the end)")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0: all cores)")
	fs.StringVar(&f.device, "device", "cpu", deviceHelp)
}

// build returns the configuration: defaults of the dataset, then the config
// file, then the flags that were given on the command line.
func (f *configFlags) build(fs *flag.FlagSet) (byol.Config, error) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var c byol.Config
	var err error
	if f.config != "" {
		ds := ""
		if set["dataset"] {
			ds = f.dataset
		}
		if ds == "" {
			ds = "shapes"
		}
		if c, err = byol.Load(f.config, ds); err != nil {
			return c, err
		}
	} else if c, err = byol.Defaults(f.dataset); err != nil {
		return c, err
	}
	if set["dataset"] && c.Dataset != f.dataset {
		// A different dataset than the file's brings its own augmentations.
		d, err := byol.Defaults(f.dataset)
		if err != nil {
			return c, err
		}
		c.Dataset, c.Augment = d.Dataset, d.Augment
	}
	apply := map[string]func(){
		"method":           func() { c.Method = f.method },
		"temperature":      func() { c.Temperature = f.temperature },
		"data-dir":         func() { c.DataDir = f.dataDir },
		"arch":             func() { c.Arch = f.arch },
		"width":            func() { c.Width = f.width },
		"batch":            func() { c.Batch = f.batch },
		"steps":            func() { c.Steps = f.steps },
		"optimizer":        func() { c.Optimizer.Name = f.optimizer },
		"lr":               func() { c.LR = f.lr },
		"tau-base":         func() { c.TauBase = f.tauBase },
		"no-predictor":     func() { c.Predictor = !f.noPredictor },
		"seed":             func() { c.Seed = f.seed },
		"eval-every":       func() { c.EvalEvery = f.evalEvery },
		"checkpoint-every": func() { c.CheckpointEvery = f.ckptEvery },
		"threads":          func() { c.Threads = f.threads },
		"device":           func() { c.Device = f.device },
		"tau-schedule":     func() { c.TauSchedule = f.tauSchedule },
		"pred-lr-mult":     func() { c.PredLRMult = f.predLRMult },
		"no-head-bn":       func() { c.HeadBN = !f.noHeadBN },
	}
	for name, fn := range apply {
		if set[name] {
			fn()
		}
	}
	if f.augmentOff != "" {
		for _, name := range strings.Split(f.augmentOff, ",") {
			if err := c.Augment.Disable(strings.TrimSpace(name)); err != nil {
				return c, err
			}
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// deviceHelp documents --device, saying which build has which devices.
var deviceHelp = func() string {
	if device.HasCUDA() {
		return "compute device: cpu or cuda"
	}
	return "compute device: cpu (cuda needs a binary built with -tags cuda)"
}()
