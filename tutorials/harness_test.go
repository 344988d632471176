package tutorials

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/device"
	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// claimEval sizes the evaluation of claim runs: smaller than the CLI's
// 10,000 × 10,000 kNN (which costs more than the training at these budgets)
// but large enough that the accuracies the claims compare are stable to a
// point or two.
var claimEval = byol.EvalConfig{BankSize: 2000, QuerySize: 1000, MetricSize: 500, K: 20, Temp: 0.07}

// claimRun is one training run behind a lesson's claims: the metrics before
// the first step and after the last, and the loss of every step.
type claimRun struct {
	Config     byol.Config
	Start, End byol.Metrics
	Pixels     map[string]float64 // the raw-pixel kNN baseline per label set
	Losses     []float64
	Trainer    *byol.Trainer
	Data       *data.Dataset
}

// meanLoss is the mean loss of steps [lo, hi).
func (r *claimRun) meanLoss(lo, hi int) float64 {
	s := 0.0
	for _, l := range r.Losses[lo:hi] {
		s += l
	}
	return s / float64(hi-lo)
}

// healthy is 1/√d, the std of projections spread over the sphere.
func (r *claimRun) healthy() float64 { return 1 / math.Sqrt(float64(r.Config.ProjOut)) }

func (r *claimRun) String() string {
	return fmt.Sprintf("step %d: loss %.3f (first 10 steps %.3f), std %.4f (1/√d %.4f), rank %.1f, kNN %v (step 0: %v, pixels %v)",
		r.End.Step, r.meanLoss(len(r.Losses)-10, len(r.Losses)), r.meanLoss(0, 10), r.End.Std, r.healthy(), r.End.Rank,
		pct(r.End.KNN), pct(r.Start.KNN), pct(r.Pixels))
}

func pct(m map[string]float64) string {
	s := ""
	for _, k := range []string{"shape", "colour", "digit", "class"} {
		if v, ok := m[k]; ok {
			s += fmt.Sprintf(" %s %.1f%%", k, 100*v)
		}
	}
	return "[" + s[min(1, len(s)):] + "]"
}

var (
	dataMu   sync.Mutex
	datasets = map[string]*data.Dataset{}

	runsMu sync.Mutex
	runs   = map[string]*runEntry{}
)

type runEntry struct {
	once sync.Once
	run  *claimRun
	err  error
}

// loadData returns a dataset, loaded once for the whole package.
func loadData(t *testing.T, name string) *data.Dataset {
	t.Helper()
	dataMu.Lock()
	defer dataMu.Unlock()
	if ds, ok := datasets[name]; ok {
		return ds
	}
	ds, err := data.Load(name, data.Options{})
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	datasets[name] = ds
	return ds
}

// cliConfig is what `byol-lab train --dataset ds --batch batch --steps
// steps` trains, with the claim evaluation and one thread (tests run two
// at a time on two cores).
func cliConfig(t *testing.T, ds string, batch, steps int) byol.Config {
	t.Helper()
	c, err := byol.Defaults(ds)
	if err != nil {
		t.Fatal(err)
	}
	return budget(c, batch, steps)
}

// presetConfig is run `name` of the built-in lab preset, at a test budget.
func presetConfig(t *testing.T, preset, name string, steps int) byol.Config {
	t.Helper()
	p, err := lab.ReadPreset(preset)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Runs {
		if r.Name == name {
			return budget(r.Config, r.Config.Batch, steps)
		}
	}
	t.Fatalf("preset %s has no run %q", preset, name)
	return byol.Config{}
}

func budget(c byol.Config, batch, steps int) byol.Config {
	c.Batch, c.Steps = batch, steps
	c.Eval = claimEval
	c.EvalEvery, c.CheckpointEvery = 0, 0
	c.Threads = 1
	return c
}

// train runs cfg to cfg.Steps, once per configuration for the whole
// package: lessons that share a run (BYOL on shapes is the reference of
// several) train it once.
func train(t *testing.T, cfg byol.Config) *claimRun {
	t.Helper()
	if testing.Short() {
		t.Skip("trains a model (tens of seconds); skipped with -short")
	}
	key, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runsMu.Lock()
	e, ok := runs[string(key)]
	if !ok {
		e = &runEntry{}
		runs[string(key)] = e
	}
	runsMu.Unlock()
	e.once.Do(func() { e.run, e.err = trainOnce(t, cfg) })
	if e.err != nil {
		t.Fatal(e.err)
	}
	t.Logf("%s", e.run)
	return e.run
}

func trainOnce(t *testing.T, cfg byol.Config) (*claimRun, error) {
	ds := loadData(t, cfg.Dataset)
	pool := parallel.New(cfg.Threads)
	b, err := device.Open(cfg.Device, pool)
	if err != nil {
		return nil, err
	}
	tr, err := byol.NewTrainer(cfg, b, pool, ds.Train)
	if err != nil {
		return nil, err
	}
	ev := byol.NewEvaluator(cfg.Eval, ds.Train, ds.Test, cfg.Seed)
	r := &claimRun{Config: cfg, Trainer: tr, Data: ds}
	if r.Start, err = ev.Evaluate(tr); err != nil {
		return nil, err
	}
	if r.Pixels, err = ev.PixelKNN(tr); err != nil {
		return nil, err
	}
	for tr.StepCount() < cfg.Steps {
		if err := tr.Step(); err != nil {
			return nil, err
		}
		r.Losses = append(r.Losses, tr.LastLoss())
	}
	if r.End, err = ev.Evaluate(tr); err != nil {
		return nil, err
	}
	return r, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
