package byol

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// tinySplit is a random 3×12×12 dataset: enough to exercise every code path
// of a step in milliseconds.
func tinySplit(n int) *data.Split {
	r := rand.New(rand.NewPCG(11, 12))
	s := &data.Split{N: n, C: 3, H: 12, W: 12, Pix: make([]uint8, n*3*12*12)}
	for i := range s.Pix {
		s.Pix[i] = uint8(r.IntN(256))
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(i % 2)
	}
	s.Labels = []data.LabelSet{{Name: "class", Classes: []string{"a", "b"}, Y: y}}
	return s
}

func tinyConfig(t *testing.T) Config {
	t.Helper()
	c, err := Defaults("shapes")
	if err != nil {
		t.Fatal(err)
	}
	c.Batch, c.Steps = 8, 10
	c.ProjHidden, c.ProjOut, c.PredHidden = 32, 16, 32
	c.Eval = EvalConfig{BankSize: 40, QuerySize: 20, MetricSize: 20, K: 5, Temp: 0.07}
	return c
}

func newTrainer(t *testing.T, c Config, s *data.Split) *Trainer {
	t.Helper()
	pool := parallel.New(2)
	t.Cleanup(pool.Close)
	tr, err := NewTrainer(c, cpu.New(pool), pool, s)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func params(tr *Trainer) (online, target []float32) {
	return slices.Clone(cpu.Data(tr.online.Params.W)), slices.Clone(cpu.Data(tr.target.Params.W))
}

func steps(t *testing.T, tr *Trainer, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSameSeedIsBitIdentical(t *testing.T) {
	s := tinySplit(50)
	a, b := newTrainer(t, tinyConfig(t), s), newTrainer(t, tinyConfig(t), s)
	steps(t, a, 4)
	steps(t, b, 4)
	ao, at := params(a)
	bo, bt := params(b)
	if !slices.Equal(ao, bo) || !slices.Equal(at, bt) || a.LastLoss() != b.LastLoss() {
		t.Fatal("two runs with the same seed and config differ")
	}
	c := tinyConfig(t)
	c.Seed = 1
	d := newTrainer(t, c, s)
	steps(t, d, 4)
	if do, _ := params(d); slices.Equal(ao, do) {
		t.Fatal("a different seed gave the same weights")
	}
}

func TestResumeContinuesExactly(t *testing.T) {
	s := tinySplit(20) // 8-image batches cross epoch boundaries
	full := newTrainer(t, tinyConfig(t), s)
	steps(t, full, 6)

	part := newTrainer(t, tinyConfig(t), s)
	steps(t, part, 3)
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := part.Save(path); err != nil {
		t.Fatal(err)
	}
	pool := parallel.New(2)
	defer pool.Close()
	resumed, err := Resume(path, cpu.New(pool), pool, s)
	if err != nil {
		t.Fatal(err)
	}
	steps(t, resumed, 3)
	fo, ft := params(full)
	ro, rt := params(resumed)
	if !slices.Equal(fo, ro) || !slices.Equal(ft, rt) || full.LastLoss() != resumed.LastLoss() {
		t.Fatal("resumed run differs from the uninterrupted one")
	}
	if !slices.Equal(cpu.Data(full.online.Params.S), cpu.Data(resumed.online.Params.S)) {
		t.Fatal("BatchNorm running statistics differ after resume")
	}
}

func TestPredictorOffFreezesPredictor(t *testing.T) {
	c := tinyConfig(t)
	c.Predictor = false
	tr := newTrainer(t, c, tinySplit(30))
	before, _ := params(tr)
	steps(t, tr, 3)
	after, _ := params(tr)
	changed := func(pred bool) bool {
		for _, p := range tr.online.Params.List {
			if isPredictor(p) != pred {
				continue
			}
			if !slices.Equal(before[p.Off:p.Off+p.Len()], after[p.Off:p.Off+p.Len()]) {
				return true
			}
		}
		return false
	}
	if changed(true) {
		t.Error("predictor weights changed with the predictor off")
	}
	if !changed(false) {
		t.Error("encoder/projector did not train")
	}
}

func TestTauExtremes(t *testing.T) {
	s := tinySplit(30)
	c := tinyConfig(t)
	c.TauSchedule, c.TauBase = "constant", 1
	frozen := newTrainer(t, c, s)
	_, t0 := params(frozen)
	steps(t, frozen, 3)
	if _, t1 := params(frozen); !slices.Equal(t0, t1) {
		t.Error("τ = 1 changed the target network")
	}
	c.TauBase = 0
	copyNet := newTrainer(t, c, s)
	steps(t, copyNet, 3)
	on, tg := params(copyNet)
	if !slices.Equal(on[:len(tg)], tg) {
		t.Error("τ = 0 did not make the target a copy of the online network")
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	tr := newTrainer(t, tinyConfig(t), tinySplit(40))
	steps(t, tr, 2)
	allocs := testing.AllocsPerRun(10, func() {
		if err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a training step allocated %v times, want 0", allocs)
	}
	out := make([]StepResult, 3)
	allocs = testing.AllocsPerRun(10, func() {
		if _, err := tr.Steps(out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Steps allocated %v times, want 0", allocs)
	}
}

func TestDivergenceIsReportedAndNotSaved(t *testing.T) {
	tr := newTrainer(t, tinyConfig(t), tinySplit(30))
	steps(t, tr, 1)
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	statsBefore := slices.Clone(cpu.Data(tr.online.Params.S))
	cpu.Data(tr.online.Params.W)[0] = float32(math.NaN())
	if err := tr.Step(); !errors.Is(err, ErrDiverged) {
		t.Fatalf("step with NaN weights returned %v, want ErrDiverged", err)
	}
	if !slices.Equal(statsBefore, cpu.Data(tr.online.Params.S)) {
		t.Error("a diverged step changed the BatchNorm running statistics")
	}
	if tr.StepCount() != 1 {
		t.Errorf("a diverged step counted: step %d", tr.StepCount())
	}
	if err := tr.Save(path); err == nil {
		t.Fatal("saved NaN weights over a good checkpoint")
	}
	if _, err := ReadConfig(path); err != nil {
		t.Fatalf("the good checkpoint was damaged: %v", err)
	}
}

func TestApplyLiveKnobs(t *testing.T) {
	tr := newTrainer(t, tinyConfig(t), tinySplit(40))
	steps(t, tr, 1)
	c := tr.Config()
	c.Predictor, c.Batch, c.TauBase = false, 12, 0.5
	c.Augment.Views[0].Jitter.Enabled = false
	if err := tr.Apply(c); err != nil {
		t.Fatal(err)
	}
	steps(t, tr, 2)
	bad := tr.Config()
	bad.Arch = "small"
	if err := tr.Apply(bad); err == nil {
		t.Error("changing the architecture of a running trainer was accepted")
	}
	bad = tr.Config()
	bad.LR = math.NaN()
	if err := tr.Apply(bad); err == nil || tr.Config().LR != c.LR {
		t.Error("a NaN learning rate was accepted")
	}
}

func TestEvaluateMetrics(t *testing.T) {
	s := tinySplit(60)
	tr := newTrainer(t, tinyConfig(t), s)
	ev := NewEvaluator(tr.cfg.Eval, s, s, 1)
	m, err := ev.Evaluate(tr)
	if err != nil {
		t.Fatal(err)
	}
	d := float64(tr.cfg.ProjOut)
	if !(m.Std > 0 && m.Std <= 1/math.Sqrt(d)+1e-6) || !(m.Rank >= 1 && m.Rank <= d) || len(m.Spectrum) == 0 {
		t.Fatalf("implausible metrics %+v", m)
	}
	if acc, ok := m.KNN["class"]; !ok || acc < 0 || acc > 1 {
		t.Fatalf("kNN accuracy %v", m.KNN)
	}
	pix, err := ev.PixelKNN(tr)
	if err != nil || pix["class"] < 0 {
		t.Fatalf("pixel kNN %v %v", pix, err)
	}
}

func TestCloneForksIndependently(t *testing.T) {
	s := tinySplit(40)
	a := newTrainer(t, tinyConfig(t), s)
	steps(t, a, 2)
	b, err := a.Clone()
	if err != nil {
		t.Fatal(err)
	}
	ref := newTrainer(t, tinyConfig(t), s)
	steps(t, ref, 4)
	steps(t, a, 2)
	steps(t, b, 2)
	ro, _ := params(ref)
	ao, _ := params(a)
	bo, _ := params(b)
	if !slices.Equal(ro, ao) || !slices.Equal(ro, bo) {
		t.Fatal("a fork does not continue exactly like its parent")
	}
	// Changing a knob in the fork leaves the parent alone.
	c := b.Config()
	c.Predictor = false
	if err := b.Apply(c); err != nil {
		t.Fatal(err)
	}
	steps(t, b, 1)
	steps(t, a, 1)
	if !a.Config().Predictor {
		t.Fatal("the parent's predictor was switched off")
	}
	if ao, _ = params(a); slices.Equal(ao, cpu.Data(b.online.Params.W)) {
		t.Fatal("parent and fork still identical after different steps")
	}
}

// TestStepsMatchesStep checks that Steps, which reads the losses back once
// per chunk, trains exactly like Step: same losses, lr, τ, weights,
// BatchNorm statistics and optimiser state, across a chunk boundary.
func TestStepsMatchesStep(t *testing.T) {
	s := tinySplit(20)
	for _, name := range []string{"lars", "adamw", "simclr"} {
		t.Run(name, func(t *testing.T) {
			c := tinyConfig(t)
			c.Steps = 100
			if name == "simclr" {
				c.Method = MethodSimCLR
			} else {
				c.Optimizer.Name = name
			}
			n := MaxStepsPerSync + 3
			one, many := newTrainer(t, c, s), newTrainer(t, c, s)
			want := make([]StepResult, n)
			for i := range want {
				want[i] = StepResult{LR: one.LR(), Tau: one.Tau()}
				if err := one.Step(); err != nil {
					t.Fatal(err)
				}
				want[i].Loss = one.LastLoss()
			}
			got := make([]StepResult, n)
			if k, err := many.Steps(got); k != n || err != nil {
				t.Fatalf("Steps = %d, %v; want %d, nil", k, err, n)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Steps reported %v,\nStep %v", got, want)
			}
			sameState(t, many, one)
		})
	}
}

// sameState fails unless a and b hold bit-identical training state.
func sameState(t *testing.T, a, b *Trainer) {
	t.Helper()
	as, bs := a.live(), b.live()
	for _, p := range [][2]backend.Buffer{{as.onlineW, bs.onlineW}, {as.onlineS, bs.onlineS},
		{as.targetW, bs.targetW}, {as.targetS, bs.targetS}, {as.opt1, bs.opt1}, {as.opt2, bs.opt2}} {
		if (p[0] == nil) != (p[1] == nil) || p[0] != nil && !slices.Equal(cpu.Data(p[0]), cpu.Data(p[1])) {
			t.Fatal("the device state differs")
		}
	}
	as.onlineW, as.onlineS, as.targetW, as.targetS, as.opt1, as.opt2 = nil, nil, nil, nil, nil, nil
	bs.onlineW, bs.onlineS, bs.targetW, bs.targetS, bs.opt1, bs.opt2 = nil, nil, nil, nil, nil, nil
	if as != bs {
		t.Fatalf("host state %+v, want %+v", as, bs)
	}
}

// TestStepsStopsAtLastGoodStep makes a step in the middle of a Steps chunk
// diverge: Steps must report the good steps and leave the trainer exactly
// where Step stops.
func TestStepsStopsAtLastGoodStep(t *testing.T) {
	s := tinySplit(20)
	const n = 8
	for lr := 1e2; lr < 1e30; lr *= 10 {
		c := tinyConfig(t)
		c.LR, c.WarmupSteps = lr, 5
		ref := newTrainer(t, c, s)
		good := 0
		for ; good < n; good++ {
			if err := ref.Step(); errors.Is(err, ErrDiverged) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if good < 2 || good == n {
			continue // not mid-chunk
		}
		t.Logf("lr %g: %d good steps, then one diverges", lr, good)
		tr := newTrainer(t, c, s)
		out := make([]StepResult, n)
		k, err := tr.Steps(out)
		if k != good || !errors.Is(err, ErrDiverged) {
			t.Fatalf("lr %g: Steps = %d, %v; want %d, ErrDiverged", lr, k, err, good)
		}
		if out[k-1].Loss != ref.LastLoss() || tr.LastLoss() != ref.LastLoss() {
			t.Errorf("lr %g: last good loss %v (LastLoss %v), want %v", lr, out[k-1].Loss, tr.LastLoss(), ref.LastLoss())
		}
		sameState(t, tr, ref)
		return
	}
	t.Fatal("no learning rate made step 2…7 the first to diverge")
}
