package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/nn"
)

// A small network's parameters: a weight matrix, a bias and BatchNorm ones.
func testParams(t *testing.T) (*cpu.CPU, *nn.Params) {
	t.Helper()
	b := cpu.New(nil)
	ps := &nn.Params{}
	nn.NewLinear(b, ps, "fc", 5, 4, true)
	nn.NewBatchNorm(b, ps, "bn", nn.Vec(4))
	ps.Alloc(b, rand.New(rand.NewPCG(3, 4)))
	g := cpu.Data(ps.G)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range g {
		g[i] = float32(r.NormFloat64())
	}
	return b, ps
}

func snapshot(b backend.Buffer) []float64 {
	d := cpu.Data(b)
	o := make([]float64, len(d))
	for i, v := range d {
		o[i] = float64(v)
	}
	return o
}

func near(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestAdamWMatchesReference(t *testing.T) {
	b, ps := testParams(t)
	cfg := Config{Name: "adamw", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}
	o, err := New(b, cfg, ps)
	if err != nil {
		t.Fatal(err)
	}
	segs := Segments(ps, nil, func(p *nn.Param) float64 {
		if p.Kind == nn.Bias {
			return 2 // lr multiplier applies per tensor
		}
		return 1
	})
	p, g := snapshot(ps.W), snapshot(ps.G)
	m, v := make([]float64, len(p)), make([]float64, len(p))
	const lr = 0.01
	for step := 1; step <= 3; step++ {
		o.Step(lr, segs)
		for _, par := range ps.List {
			plr := lr
			if par.Kind == nn.Bias {
				plr = 2 * lr
			}
			for i := par.Off; i < par.Off+par.Len(); i++ {
				if par.Kind == nn.Weight {
					p[i] *= 1 - plr*0.1
				}
				m[i] = 0.9*m[i] + 0.1*g[i]
				v[i] = 0.999*v[i] + 0.001*g[i]*g[i]
				mh := m[i] / (1 - math.Pow(0.9, float64(step)))
				vh := v[i] / (1 - math.Pow(0.999, float64(step)))
				p[i] -= plr * mh / (math.Sqrt(vh) + 1e-8)
			}
		}
	}
	near(t, "adamw", cpu.Data(ps.W), p, 1e-5)
}

func TestLARSAdaptsOnlyWeights(t *testing.T) {
	b, ps := testParams(t)
	cfg := Config{Name: "lars", Momentum: 0.9, Trust: 0.001, WeightDecay: 1.5e-6}
	o, err := New(b, cfg, ps)
	if err != nil {
		t.Fatal(err)
	}
	p, g := snapshot(ps.W), snapshot(ps.G)
	const lr = 0.5
	o.Step(lr, Segments(ps, nil, nil))
	for _, par := range ps.List {
		lo, hi := par.Off, par.Off+par.Len()
		if par.Kind != nn.Weight {
			// Plain momentum SGD without decay: first step moves by lr·g.
			for i := lo; i < hi; i++ {
				p[i] -= lr * g[i]
			}
			continue
		}
		var pn, dn float64
		for i := lo; i < hi; i++ {
			d := g[i] + 1.5e-6*p[i]
			pn += p[i] * p[i]
			dn += d * d
		}
		trust := 0.001 * math.Sqrt(pn) / math.Sqrt(dn)
		for i := lo; i < hi; i++ {
			p[i] -= lr * trust * (g[i] + 1.5e-6*p[i])
		}
	}
	near(t, "lars", cpu.Data(ps.W), p, 1e-5)
}

func TestSGDMomentumAndSkippedSegments(t *testing.T) {
	b, ps := testParams(t)
	o, err := New(b, Config{Name: "sgd", Momentum: 0.9, WeightDecay: 0.01}, ps)
	if err != nil {
		t.Fatal(err)
	}
	// Only the weight is listed: the others must stay untouched.
	segs := Segments(ps, func(p *nn.Param) bool { return p.Kind == nn.Weight }, nil)
	p, g := snapshot(ps.W), snapshot(ps.G)
	buf := make([]float64, len(p))
	for step := 0; step < 2; step++ {
		o.Step(0.1, segs)
		w := ps.List[0]
		for i := w.Off; i < w.Off+w.Len(); i++ {
			buf[i] = 0.9*buf[i] + g[i] + 0.01*p[i]
			p[i] -= 0.1 * buf[i]
		}
	}
	near(t, "sgd", cpu.Data(ps.W), p, 1e-5)
}

func TestSchedules(t *testing.T) {
	if got := Tau(0.996, 0, 100); math.Abs(got-0.996) > 1e-12 {
		t.Errorf("τ at step 0 = %v, want τ_base", got)
	}
	if got := Tau(0.996, 100, 100); got != 1 {
		t.Errorf("τ at the last step = %v, want 1", got)
	}
	if got := Tau(0.9, 50, 100); math.Abs(got-0.95) > 1e-12 {
		t.Errorf("τ halfway = %v, want 0.95", got)
	}
	if got := LR(1, 0, 100, 10, true); math.Abs(got-0.1) > 1e-12 {
		t.Errorf("first warm-up lr = %v, want 0.1", got)
	}
	if got := LR(1, 10, 100, 10, true); got != 1 {
		t.Errorf("lr after warm-up = %v, want 1", got)
	}
	if got := LR(1, 55, 100, 10, true); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("lr halfway through the cosine = %v, want 0.5", got)
	}
	if got := LR(2, 90, 100, 0, false); got != 2 {
		t.Errorf("constant lr = %v", got)
	}
	if got := ScaledLR(0.2, 4096); math.Abs(got-3.2) > 1e-12 {
		t.Errorf("scaled lr = %v, want 3.2", got)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{Name: "rmsprop"},
		{Name: "sgd", Momentum: 1},
		{Name: "sgd", WeightDecay: -1},
		{Name: "adam", Beta1: 0.9, Beta2: 1, Eps: 1e-8},
		{Name: "adam", Beta1: 0.9, Beta2: 0.99, Eps: 0},
		{Name: "lars", Momentum: 0.9, Trust: math.NaN()},
	}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
}
