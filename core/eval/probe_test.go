package eval

import (
	"errors"
	"math"
	"testing"
)

// separable returns n rows labelled by which of numClasses random linear
// scores is largest, so a linear classifier can be perfect.
func separable(seed uint64, n, d, numClasses int) ([]float32, []int32) {
	r := newRand(seed)
	w := make([]float64, d*numClasses)
	for i := range w {
		w[i] = r.NormFloat64()
	}
	x := make([]float32, n*d)
	y := make([]int32, n)
	for i := range n {
		for j := range d {
			// uneven scales and offsets: standardisation must cope
			x[i*d+j] = float32(r.NormFloat64()*float64(j+1) + float64(10*j))
		}
		best, arg := math.Inf(-1), 0
		for c := range numClasses {
			var s float64
			for j := range d {
				s += w[j*numClasses+c] * (float64(x[i*d+j]) - float64(10*j)) / float64(j+1)
			}
			if s > best {
				best, arg = s, c
			}
		}
		y[i] = int32(arg)
	}
	return x, y
}

func TestProbeSeparable(t *testing.T) {
	const d, classes = 8, 4
	x, y := separable(1, 3000, d, classes)
	acc, err := LinearProbe(x[:2000*d], y[:2000], x[2000*d:], y[2000:], d, classes, ProbeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The margin near the class boundaries is thin, so a few test points
	// may land on the wrong side of the learned one.
	if acc < 0.97 {
		t.Errorf("separable data: test accuracy %v", acc)
	}
	p, err := TrainProbe(x[:2000*d], y[:2000], d, classes, ProbeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pred, _ := p.Predict(x[:2000*d])
	rep, _ := Score(pred, y[:2000], classes)
	if rep.Accuracy < 0.99 {
		t.Errorf("separable data: train accuracy %v", rep.Accuracy)
	}
}

func TestProbeClusters(t *testing.T) {
	// Well separated clusters: every test point right.
	x, y := clustered(newRand(2), 1200, 16, 10, 0.1)
	acc, err := LinearProbe(x[:1000*16], y[:1000], x[1000*16:], y[1000:], 16, 10, ProbeOptions{})
	if err != nil || acc != 1 {
		t.Errorf("clusters: %v, %v; want 1", acc, err)
	}
}

func TestProbeRandomLabels(t *testing.T) {
	const n, d, classes = 2000, 16, 4
	r := newRand(3)
	x := gaussian(r, 2*n, d)
	y := make([]int32, 2*n)
	for i := range y {
		y[i] = int32(r.IntN(classes))
	}
	acc, err := LinearProbe(x[:n*d], y[:n], x[n*d:], y[n:], d, classes, ProbeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Chance is 0.25 with standard error ≈ 0.01.
	if acc < 0.2 || acc > 0.3 {
		t.Errorf("random labels: test accuracy %v, want ≈ 0.25", acc)
	}
}

func TestProbeDeterministic(t *testing.T) {
	x, y := clustered(newRand(4), 500, 12, 5, 2)
	a, err := TrainProbe(x, y, 12, 5, ProbeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := TrainProbe(x, y, 12, 5, ProbeOptions{})
	for i := range a.W {
		if a.W[i] != b.W[i] {
			t.Fatal("probe training is not deterministic")
		}
	}
	if a.Iterations == 0 || !(a.Loss > 0) {
		t.Errorf("iterations %d, loss %v", a.Iterations, a.Loss)
	}
}

func TestProbeGradient(t *testing.T) {
	// The analytic gradient against central differences.
	const n, d, c = 30, 5, 3
	x, y := clustered(newRand(5), n, d, c, 1)
	p := &Probe{D: d, NumClasses: c, Mean: make([]float64, d), Scale: make([]float64, d)}
	for j := range d {
		p.Scale[j] = 1
	}
	o := &softmaxObjective{x: p.standardise(x, n), y: y, n: n, d: d, c: c, l2: 0.3}
	r := newRand(6)
	theta := make([]float64, (d+1)*c)
	for i := range theta {
		theta[i] = r.NormFloat64()
	}
	g := make([]float64, len(theta))
	o.grad(g, theta)
	const h = 1e-6
	for i := range theta {
		tp := append([]float64(nil), theta...)
		tm := append([]float64(nil), theta...)
		tp[i] += h
		tm[i] -= h
		num := (o.fn(tp) - o.fn(tm)) / (2 * h)
		if math.Abs(num-g[i]) > 1e-6*(1+math.Abs(num)) {
			t.Errorf("gradient[%d] = %v, numerical %v", i, g[i], num)
		}
	}
	// The loss itself: at θ = 0 every class has probability 1/c.
	if f := o.fn(make([]float64, len(theta))); !near(f, math.Log(c), 1e-12) {
		t.Errorf("loss at zero %v, want log %d", f, c)
	}
}

func TestProbeConstantFeature(t *testing.T) {
	x, y := clustered(newRand(7), 300, 3, 2, 0.2)
	for i := 0; i < len(x); i += 3 {
		x[i+1] = 5 // a dead unit
	}
	acc, err := LinearProbe(x[:200*3], y[:200], x[200*3:], y[200:], 3, 2, ProbeOptions{})
	if err != nil || acc < 0.95 {
		t.Errorf("constant feature: %v, %v", acc, err)
	}
}

func TestProbeErrors(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	y := []int32{0, 1}
	nan := float32(math.NaN())
	for name, err := range map[string]error{
		"ragged":       func() error { _, err := LinearProbe(x[:3], y, x, y, 2, 2, ProbeOptions{}); return err }(),
		"labels":       func() error { _, err := LinearProbe(x, y[:1], x, y, 2, 2, ProbeOptions{}); return err }(),
		"test labels":  func() error { _, err := LinearProbe(x, y, x, y[:1], 2, 2, ProbeOptions{}); return err }(),
		"label range":  func() error { _, err := LinearProbe(x, []int32{0, 2}, x, y, 2, 2, ProbeOptions{}); return err }(),
		"classes":      func() error { _, err := LinearProbe(x, y, x, y, 2, 0, ProbeOptions{}); return err }(),
		"empty":        func() error { _, err := LinearProbe(nil, nil, x, y, 2, 2, ProbeOptions{}); return err }(),
		"empty test":   func() error { _, err := LinearProbe(x, y, nil, nil, 2, 2, ProbeOptions{}); return err }(),
		"negative L2":  func() error { _, err := LinearProbe(x, y, x, y, 2, 2, ProbeOptions{L2: -1}); return err }(),
		"test width":   func() error { _, err := LinearProbe(x, y, x[:3], y, 2, 2, ProbeOptions{}); return err }(),
		"zero d":       func() error { _, err := LinearProbe(x, y, x, y, 0, 2, ProbeOptions{}); return err }(),
		"NaN L2":       func() error { _, err := LinearProbe(x, y, x, y, 2, 2, ProbeOptions{L2: math.NaN()}); return err }(),
		"test not fit": func() error { _, err := LinearProbe(x, y, []float32{1, 2, 3}, y, 2, 2, ProbeOptions{}); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LinearProbe([]float32{1, nan, 3, 4}, y, x, y, 2, 2, ProbeOptions{}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN train: %v", err)
	}
	if _, err := LinearProbe(x, y, []float32{1, nan, 3, 4}, y, 2, 2, ProbeOptions{}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN test: %v", err)
	}
}

func BenchmarkLinearProbe10k(b *testing.B) {
	const n, d, classes = 10000, 64, 10
	x, y := clustered(newRand(1), n+2000, d, classes, 3)
	for b.Loop() {
		if _, err := LinearProbe(x[:n*d], y[:n], x[n*d:], y[n:], d, classes, ProbeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
