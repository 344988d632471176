// Package session runs a headless training run end to end: it loads the
// dataset, trains BYOL, evaluates every few steps, and writes what
// `byol-lab train --out DIR` promises: metrics.jsonl and .csv, PNG plots,
// and an atomically replaced checkpoint that --resume continues exactly.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/device"
	"github.com/byol-lab/byol-lab/core/eval"
	"github.com/byol-lab/byol-lab/core/parallel"
	"github.com/byol-lab/byol-lab/core/report"
)

// CheckpointName is the checkpoint file inside the output directory.
const CheckpointName = "checkpoint.safetensors"

// Options control a run beyond its training configuration.
type Options struct {
	Out      string    // output directory (created); empty: write nothing
	Resume   bool      // continue from Out/checkpoint.safetensors
	Progress io.Writer // progress bar and messages; nil: silent
	// Data overrides loading the configured dataset (tests pass small ones).
	Data *data.Dataset

	stepHook func(step int) // tests: called after every step
}

// Result summarises a finished (or interrupted) run.
type Result struct {
	Records []report.Record
	Steps   int
	Stopped bool // interrupted by ctx; a checkpoint was written
}

// Run trains cfg until cfg.Steps or until ctx is cancelled.
func Run(ctx context.Context, cfg byol.Config, opt Options) (res Result, err error) {
	out := opt.Progress
	if out == nil {
		out = io.Discard
	}
	if opt.Resume {
		if opt.Out == "" {
			return res, errors.New("session: --resume needs --out")
		}
		if cfg, err = byol.ReadConfig(filepath.Join(opt.Out, CheckpointName)); err != nil {
			return res, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	ds := opt.Data
	if ds == nil {
		if ds, err = data.Load(cfg.Dataset, data.Options{DataDir: cfg.DataDir, Seed: cfg.Seed}); err != nil {
			return res, err
		}
	}
	pool := parallel.New(cfg.Threads)
	defer pool.Close()
	b, err := device.Open(cfg.Device, pool)
	if err != nil {
		return res, err
	}

	var t *byol.Trainer
	var w *report.Writer
	ckpt := filepath.Join(opt.Out, CheckpointName)
	if opt.Resume {
		if t, err = byol.Resume(ckpt, b, pool, ds.Train); err != nil {
			return res, err
		}
		if w, err = report.Resume(opt.Out, float64(t.StepCount())); err != nil {
			return res, err
		}
		fmt.Fprintf(out, "resuming %s at step %d of %d\n", ckpt, t.StepCount(), cfg.Steps)
	} else {
		if t, err = byol.NewTrainer(cfg, b, pool, ds.Train); err != nil {
			return res, err
		}
		if opt.Out != "" {
			if err := os.MkdirAll(opt.Out, 0o755); err != nil {
				return res, fmt.Errorf("session: %w", err)
			}
			if w, err = report.Create(opt.Out); err != nil {
				return res, err
			}
		}
	}
	if w != nil {
		defer func() {
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}()
	}

	ev := byol.NewEvaluator(cfg.Eval, ds.Train, ds.Test, cfg.Seed)
	primary := ds.Test.Labels[0].Name
	record := func(m byol.Metrics, extra report.Record) error {
		r := report.Record{"step": float64(m.Step), "lr": t.LR(), "tau": t.Tau(),
			"std": m.Std, "rank": m.Rank, "mean_cos": m.MeanCos}
		for name, acc := range m.KNN {
			if name == primary {
				r["knn"] = acc
			} else {
				r["knn_"+name] = acc
			}
		}
		for k, v := range extra {
			r[k] = v
		}
		res.Records = append(res.Records, r)
		if w == nil {
			return nil
		}
		return w.Append(r)
	}

	resumedAtZero := w != nil && len(w.Records()) > 0
	if t.StepCount() == 0 && !resumedAtZero {
		fmt.Fprintf(out, "evaluating baselines (raw pixels, random-init encoder)…\n")
		m, err := ev.Evaluate(t)
		if err != nil {
			return res, err
		}
		pix, err := ev.PixelKNN(t)
		if err != nil {
			return res, err
		}
		extra := report.Record{"knn_random": m.KNN[primary], "knn_pixels": pix[primary]}
		for name, acc := range pix {
			if name != primary {
				extra["knn_pixels_"+name] = acc
				extra["knn_random_"+name] = m.KNN[name]
			}
		}
		if err := record(m, extra); err != nil {
			return res, err
		}
		fmt.Fprintf(out, "step 0: kNN(%s) random-init %.1f%%, raw pixels %.1f%%\n", primary, 100*m.KNN[primary], 100*pix[primary])
	}

	bar := newProgress(out, cfg.Steps)
	trainTime := time.Duration(0)
	lastImgs := 0
	saveCheckpoint := func() error {
		if opt.Out == "" {
			return nil
		}
		return t.Save(ckpt)
	}
	// Steps run in calls of up to a quarter second, each reading its losses
	// back once; a call ends at the next evaluation or checkpoint.
	pacer := byol.Pacer{Target: 250 * time.Millisecond}
	results := make([]byol.StepResult, byol.MaxStepsPerSync)
	for t.StepCount() < cfg.Steps {
		if ctx.Err() != nil {
			res.Stopped = true
			fmt.Fprintf(out, "\ninterrupted at step %d: saving checkpoint\n", t.StepCount())
			break
		}
		step := t.StepCount()
		n := min(pacer.Next(), cfg.Steps-step, untilNext(step, cfg.EvalEvery), untilNext(step, cfg.CheckpointEvery))
		start := time.Now()
		done, err := t.Steps(results[:n])
		elapsed := time.Since(start)
		pacer.Observe(elapsed, done)
		trainTime += elapsed
		lastImgs += done * t.Config().Batch
		if opt.stepHook != nil {
			for i := range done {
				opt.stepHook(step + i + 1)
			}
		}
		if err != nil {
			bar.done()
			return res, fmt.Errorf("step %d: %w (the last checkpoint, if any, is intact)", t.StepCount(), err)
		}
		step = t.StepCount()
		bar.update(step, t.LastLoss())
		last := step == cfg.Steps
		if (cfg.EvalEvery > 0 && step%cfg.EvalEvery == 0) || last {
			m, err := ev.Evaluate(t)
			if err != nil {
				return res, err
			}
			extra := report.Record{"loss": t.LastLoss(), "imgs_per_s": float64(lastImgs) / trainTime.Seconds()}
			if last {
				if extra["probe"], err = ev.LinearProbe(primary); err != nil {
					return res, err
				}
			}
			if err := record(m, extra); err != nil {
				return res, err
			}
			bar.note(fmt.Sprintf("step %d: loss %.4f  kNN %.1f%%  std %.4f (1/√d %.4f)  rank %.1f  %.0f img/s",
				step, t.LastLoss(), 100*m.KNN[primary], m.Std, 1/sqrt(float64(cfg.ProjOut)), m.Rank, float64(lastImgs)/trainTime.Seconds()))
			trainTime, lastImgs = 0, 0
		}
		if (cfg.CheckpointEvery > 0 && step%cfg.CheckpointEvery == 0) || last {
			if err := saveCheckpoint(); err != nil {
				return res, err
			}
		}
	}
	bar.done()
	if res.Stopped {
		if err := saveCheckpoint(); err != nil {
			return res, err
		}
	}
	res.Steps = t.StepCount()
	if opt.Out != "" {
		if err := writePlots(opt.Out, t, ev, ds, cfg, w.Records()); err != nil {
			return res, err
		}
	}
	return res, nil
}

// untilNext returns the steps from step to the next multiple of every, or
// MaxStepsPerSync when every is 0 (never).
func untilNext(step, every int) int {
	if every <= 0 {
		return byol.MaxStepsPerSync
	}
	return every - step%every
}

// writePlots draws the metric curves and a PCA scatter of the representations
// of the test images, coloured by each label set.
func writePlots(dir string, t *byol.Trainer, ev *byol.Evaluator, ds *data.Dataset, cfg byol.Config, records []report.Record) error {
	if len(records) > 0 { // a resumed run that was already finished has none
		if err := report.PlotCurves(filepath.Join(dir, "curves.png"), records, nil,
			report.CurveOptions{Dim: cfg.ProjOut, Title: fmt.Sprintf("BYOL %s / %s", cfg.Dataset, cfg.Arch)}); err != nil {
			return err
		}
	}
	n := min(ds.Test.N, 2000)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	var e byol.Embeddings
	t.Embed(ds.Test, idx, &e)
	xy, err := eval.PCA2D(e.Repr, n, e.ReprDim)
	if err != nil {
		return err
	}
	for _, ls := range ds.Test.Labels {
		path := filepath.Join(dir, "pca_"+ls.Name+".png")
		title := fmt.Sprintf("PCA of the representation at step %d, coloured by %s", t.StepCount(), ls.Name)
		if err := report.PlotScatter(path, xy, ls.Y[:n], ls.Classes, title); err != nil {
			return err
		}
	}
	return nil
}
