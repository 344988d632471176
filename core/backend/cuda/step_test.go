//go:build cuda || cudaemu

package cuda_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/backend/cuda"
	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// TestStepMatchesCPU runs whole BYOL steps — views made on the device,
// both networks, loss, backward, LARS, EMA — on the CPU and on CUDA from the
// same seed and compares losses and every weight of both networks.
func TestStepMatchesCPU(t *testing.T) {
	ds, base := stepSetup(t, 8)
	for _, c := range []struct {
		arch  string
		width float64
		conv  cuda.ConvAlgo
	}{
		{"tiny", 1, cuda.ConvIm2col},
		{"tiny", 1, cuda.ConvImplicit},
		{"resnet18", 0.125, cuda.ConvImplicit}, // stride-1 backward data, shortcuts
		{"resnet18", 0.25, cuda.ConvWinograd},  // 16 channels and more: Winograd in every stage
		{"resnet18", 0.25, cuda.ConvWinograd4},
		{"mlp", 1, cuda.ConvIm2col},
	} {
		t.Run(fmt.Sprintf("%s×%g/%s", c.arch, c.width, c.conv), func(t *testing.T) {
			cfg := base
			cfg.Arch, cfg.Width = c.arch, c.width
			cfg.Optimizer.Name, cfg.LR, cfg.Optimizer.WeightDecay = "lars", 0.2, 1.5e-6

			pool := parallel.New(2)
			defer pool.Close()
			ref := newTrainer(t, cfg, cpu.New(pool), pool, ds.Train)
			p := newPair(t)
			p.dev.SetConvAlgo(c.conv)
			dev := newTrainer(t, cfg, p.dev, pool, ds.Train)
			for step := 0; step < 3; step++ {
				if err := ref.Step(); err != nil {
					t.Fatal(err)
				}
				if err := dev.Step(); err != nil {
					t.Fatal(err)
				}
				lr, ld := ref.LastLoss(), dev.LastLoss()
				t.Logf("step %d: loss cpu %.6f cuda %.6f", step, lr, ld)
				if math.Abs(lr-ld) > 1e-3*max(1, math.Abs(lr)) {
					t.Errorf("step %d: loss cpu %v, cuda %v", step, lr, ld)
				}
			}
			compareWeights(t, "online", ref.Online().Params.W, p.dev, dev.Online().Params.W, 1e-3)
			compareWeights(t, "target", ref.Target().Params.W, p.dev, dev.Target().Params.W, 1e-3)
			compareWeights(t, "bn stats", ref.Online().Params.S, p.dev, dev.Online().Params.S, 1e-3)
		})
	}
}

// compareWeights checks max |cuda−cpu| ≤ tol·max(1, max|cpu|) over a buffer.
func compareWeights(t *testing.T, name string, ref backend.Buffer, dev backend.Backend, got backend.Buffer, tol float64) {
	t.Helper()
	a := cpu.Data(ref)
	b := make([]float32, got.Len())
	dev.Download(b, got)
	maxRef, maxDiff, at := 0.0, 0.0, 0
	for i := range a {
		if math.IsNaN(float64(b[i])) {
			t.Fatalf("%s: element %d is NaN on the device", name, i)
		}
		maxRef = max(maxRef, math.Abs(float64(a[i])))
		if d := math.Abs(float64(a[i] - b[i])); d > maxDiff {
			maxDiff, at = d, i
		}
	}
	rel := maxDiff / max(1, maxRef)
	t.Logf("%s: %d values, max diff %.3g at %d, relative %.3g", name, len(a), maxDiff, at, rel)
	if rel > tol {
		t.Errorf("%s: cpu %v vs cuda %v at %d: relative %.3g > %.3g", name, a[at], b[at], at, rel, tol)
	}
}

// TestEmbedMatchesCPU: embeddings of the test split come out of the device
// augmenter's plain views (the split uploaded on first use) and agree with
// the CPU's host-made views, for all four outputs.
func TestEmbedMatchesCPU(t *testing.T) {
	ds, cfg := stepSetup(t, 300)
	pool := parallel.New(2)
	defer pool.Close()
	ref := newTrainer(t, cfg, cpu.New(pool), pool, ds.Train)
	p := newPair(t)
	log := p.logLaunches()
	dev := newTrainer(t, cfg, p.dev, pool, ds.Train)
	idx := make([]int, 0, 300) // two chunks, the second partial
	for i := 299; i >= 0; i-- {
		idx = append(idx, i)
	}
	var a, b byol.Embeddings
	ref.Embed(ds.Test, idx, &a)
	log.took("")
	dev.Embed(ds.Test, idx, &b)
	if !log.took("augment_views") {
		t.Error("the device embedded host-made views")
	}
	for _, c := range []struct {
		name     string
		cpu, dev []float32
	}{{"repr", a.Repr, b.Repr}, {"proj", a.Proj, b.Proj}, {"pred", a.Pred, b.Pred}, {"target", a.Target, b.Target}} {
		maxRef, maxDiff := 0.0, 0.0
		for i := range c.cpu {
			maxRef = max(maxRef, math.Abs(float64(c.cpu[i])))
			maxDiff = max(maxDiff, math.Abs(float64(c.cpu[i]-c.dev[i])))
		}
		if rel := maxDiff / max(1, maxRef); rel > 1e-4 || len(c.cpu) != len(c.dev) || len(c.cpu) == 0 {
			t.Errorf("%s: %d vs %d values, relative difference %.3g", c.name, len(c.cpu), len(c.dev), rel)
		} else {
			t.Logf("%s: %d values, relative difference %.2g", c.name, len(c.cpu), rel)
		}
	}
}

// newTrainer builds a trainer for cfg on backend b, failing the test on error.
func newTrainer(t *testing.T, cfg byol.Config, b backend.Backend, pool *parallel.Pool, train *data.Split) *byol.Trainer {
	t.Helper()
	tr, err := byol.NewTrainer(cfg, b, pool, train)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// stepSetup returns the shapes data (96 training images, testN test images)
// and the shapes configuration with small heads that the whole-step tests
// train with.
func stepSetup(t *testing.T, testN int) (*data.Dataset, byol.Config) {
	t.Helper()
	ds, err := data.Shapes(data.ShapesConfig{TrainN: 96, TestN: testN})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := byol.Defaults("shapes")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Batch, cfg.Steps = stepBatch, 10
	cfg.ProjHidden, cfg.ProjOut, cfg.PredHidden = 64, 32, 64
	return ds, cfg
}

// TestStepsOnDevice checks Steps, which reads losses back once per call, on
// the device: it trains bit-identically to Step, and a step that diverges
// inside a call rolls the device state back to the last good step.
func TestStepsOnDevice(t *testing.T) {
	ds, cfg := stepSetup(t, 8)
	cfg.Arch = "tiny"
	pool := parallel.New(2)
	defer pool.Close()
	p := newPair(t)
	log := p.logLaunches()
	onDevice := func(c byol.Config) *byol.Trainer { return newTrainer(t, c, p.dev, pool, ds.Train) }
	download := func(b backend.Buffer) []float32 {
		h := make([]float32, b.Len())
		p.dev.Download(h, b)
		return h
	}
	same := func(what string, a, b *byol.Trainer) {
		t.Helper()
		for _, w := range []struct {
			name string
			a, b backend.Buffer
		}{{"online", a.Online().Params.W, b.Online().Params.W}, {"target", a.Target().Params.W, b.Target().Params.W},
			{"bn stats", a.Online().Params.S, b.Online().Params.S}} {
			if !slices.Equal(download(w.a), download(w.b)) {
				t.Errorf("%s: %s weights differ", what, w.name)
			}
		}
		if a.StepCount() != b.StepCount() || a.LastLoss() != b.LastLoss() {
			t.Errorf("%s: step %d loss %v, want step %d loss %v", what, a.StepCount(), a.LastLoss(), b.StepCount(), b.LastLoss())
		}
	}

	one, many := onDevice(cfg), onDevice(cfg)
	log.reads = 0
	for range 4 {
		if err := one.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if log.reads != 4 {
		t.Errorf("4 calls of Step read from the device %d times, want 4 (the losses)", log.reads)
	}
	out := make([]byol.StepResult, 4)
	log.reads = 0
	if n, err := many.Steps(out); n != 4 || err != nil {
		t.Fatalf("Steps = %d, %v", n, err)
	}
	if log.reads != 1 {
		t.Errorf("Steps(4) read from the device %d times, want 1 (all four losses at once)", log.reads)
	}
	same("4 steps", many, one)

	// A learning rate so large that the first step's update makes the
	// second step's loss non-finite.
	const n = 6
	cfg.LR = 1e20
	ref := onDevice(cfg)
	good := 0
	for ; good < n; good++ {
		if err := ref.Step(); errors.Is(err, byol.ErrDiverged) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if good < 1 || good == n {
		t.Fatalf("lr %g: %d good steps of %d; the test needs a divergence inside the call", cfg.LR, good, n)
	}
	tr := onDevice(cfg)
	out = make([]byol.StepResult, n)
	if n, err := tr.Steps(out); n != good || !errors.Is(err, byol.ErrDiverged) {
		t.Fatalf("Steps = %d, %v; want %d, ErrDiverged", n, err, good)
	}
	same("after the divergence", tr, ref)
}
