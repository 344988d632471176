package eval

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestStd(t *testing.T) {
	// Identical rows: complete collapse.
	const d = 16
	row := gaussian(newRand(1), 1, d)
	z := make([]float32, 0, 100*d)
	for range 100 {
		z = append(z, row...)
	}
	if s, err := Std(z, d); err != nil || !near(s, 0, 1e-12) {
		t.Errorf("identical rows: %v, %v; want 0", s, err)
	}
	// Rows along the same direction at different scales normalise to the
	// same row too.
	z2 := append([]float32(nil), z...)
	for i := range 100 {
		for j := range d {
			z2[i*d+j] *= float32(i + 1)
		}
	}
	if s, err := Std(z2, d); err != nil || !near(s, 0, 1e-7) {
		t.Errorf("scaled rows: %v, %v; want 0", s, err)
	}
	// Isotropic Gaussian rows: each coordinate of a uniform point on the
	// sphere has variance 1/d.
	for _, d := range []int{4, 64, 256} {
		s, err := Std(gaussian(newRand(2), 20000, d), d)
		if err != nil || !near(s, 1/math.Sqrt(float64(d)), 0.02/math.Sqrt(float64(d))) {
			t.Errorf("d=%d gaussian: %v, %v; want ≈ %v", d, s, err, 1/math.Sqrt(float64(d)))
		}
	}
	// Known small case: rows (1,0) and (0,1): each dimension is {1,0},
	// population std 0.5.
	if s, err := Std([]float32{1, 0, 0, 3}, 2); err != nil || !near(s, 0.5, 1e-15) {
		t.Errorf("two rows: %v, %v; want 0.5", s, err)
	}
	if s, err := Std([]float32{1, float32(math.NaN())}, 2); err != nil || !math.IsNaN(s) {
		t.Errorf("NaN: %v, %v; want NaN, nil", s, err)
	}
	for _, bad := range []struct {
		z []float32
		d int
	}{{nil, 2}, {[]float32{1, 2, 3}, 2}, {[]float32{1}, 0}} {
		if _, err := Std(bad.z, bad.d); err == nil {
			t.Errorf("Std(%v, %d): no error", bad.z, bad.d)
		}
	}
}

func TestMeanCosine(t *testing.T) {
	a := []float32{1, 0, 0, 2, 3, 4, 0, 0}
	b := []float32{2, 0, 0, -1, 4, -3, 1, 1}
	// cosines 1, −1, 0 (orthogonal), 0 (zero row)
	if c, err := MeanCosine(a, b, 2); err != nil || !near(c, 0, 1e-15) {
		t.Errorf("got %v, %v; want 0", c, err)
	}
	if c, err := MeanCosine(a[:2], []float32{1, 1}, 2); err != nil || !near(c, 1/math.Sqrt2, 1e-15) {
		t.Errorf("45°: %v, %v", c, err)
	}
	if c, err := MeanCosine(a, a, 2); err != nil || !near(c, 0.75, 1e-15) {
		t.Errorf("self (one zero row): %v, %v; want 0.75", c, err)
	}
	if c, err := MeanCosine([]float32{float32(math.Inf(1)), 0}, []float32{1, 0}, 2); err != nil || !math.IsNaN(c) {
		t.Errorf("Inf: %v, %v; want NaN", c, err)
	}
	if _, err := MeanCosine(a, b[:6], 2); err == nil {
		t.Error("mismatched sizes: no error")
	}
	if _, err := MeanCosine(nil, nil, 2); err == nil {
		t.Error("empty: no error")
	}
}

// orthoRows returns an n×d matrix (n ≥ d) with orthogonal columns of norm s.
func orthoRows(n, d int, s float64) []float32 {
	g := gaussian(newRand(9), n, d)
	a := mat.NewDense(n, d, nil)
	for i, v := range g {
		a.Set(i/d, i%d, float64(v))
	}
	var qr mat.QR
	qr.Factorize(a)
	var q mat.Dense
	qr.QTo(&q)
	z := make([]float32, n*d)
	for i := range n {
		for j := range d {
			z[i*d+j] = float32(s * q.At(i, j))
		}
	}
	return z
}

func TestSpectrumAndEffectiveRank(t *testing.T) {
	// Diagonal-ish: rows 3e1, −2e2, 0.5e3 and a zero row.
	z := []float32{3, 0, 0, 0, -2, 0, 0, 0, 0.5, 0, 0, 0}
	s, err := Spectrum(z, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{3, 2, 0.5}
	for i := range want {
		if !near(s[i], want[i], 1e-12) {
			t.Fatalf("spectrum %v, want %v", s, want)
		}
	}
	p := []float64{3 / 5.5, 2 / 5.5, 0.5 / 5.5}
	h := 0.0
	for _, x := range p {
		h -= x * math.Log(x)
	}
	if r := EffectiveRank(s); !near(r, math.Exp(h), 1e-12) {
		t.Errorf("effective rank %v, want %v", r, math.Exp(h))
	}

	// Orthogonal columns, equal singular values: rank d.
	for _, d := range []int{1, 5, 32} {
		r, err := RankMe(orthoRows(100, d, 2), d)
		if err != nil || !near(r, float64(d), 1e-5*float64(d)) {
			t.Errorf("orthogonal d=%d: %v, %v", d, r, err)
		}
	}
	// Rank one: u vᵀ. With small integers the float32 products are exact,
	// and so is the rank; with Gaussian factors float32 rounding leaves
	// singular values of about 1e-7·σ₁, worth ~1e-6 of rank.
	const n, d = 50, 20
	r := newRand(3)
	for _, exact := range []bool{true, false} {
		u, v := gaussian(r, n, 1), gaussian(r, 1, d)
		if exact {
			for i := range u {
				u[i] = float32(r.IntN(7) - 3)
			}
			for j := range v {
				v[j] = float32(r.IntN(9) + 1)
			}
		}
		z1 := make([]float32, n*d)
		for i := range n {
			for j := range d {
				z1[i*d+j] = u[i] * v[j]
			}
		}
		tol := 1e-12
		if !exact {
			tol = 1e-5
		}
		if got, err := RankMe(z1, d); err != nil || !near(got, 1, tol) {
			t.Errorf("rank one (exact %v): %v, %v", exact, got, err)
		}
	}
	v := gaussian(r, 1, d)
	// A constant non-zero output is rank one uncentred, rank zero centred.
	c := make([]float32, n*d)
	for i := range c {
		c[i] = v[i%d]
	}
	if r, err := RankMe(c, d); err != nil || !near(r, 1, 1e-9) {
		t.Errorf("constant rows: %v, %v", r, err)
	}
	if s, err := CentredSpectrum(c, d); err != nil || EffectiveRank(s) != 0 && s[0] > 1e-5 {
		t.Errorf("constant rows centred: %v, %v", s, err)
	}
	// Wide matrix: min(n, d) values.
	if s, err := Spectrum(gaussian(r, 3, 10), 10); err != nil || len(s) != 3 {
		t.Errorf("wide: %v, %v", s, err)
	}
	if _, err := Spectrum([]float32{1, float32(math.NaN())}, 2); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN: %v", err)
	}
	if _, err := Spectrum(nil, 2); err == nil {
		t.Error("empty: no error")
	}
	if _, err := Spectrum([]float32{1, 2, 3}, 2); err == nil {
		t.Error("ragged: no error")
	}
}

func TestCentredSpectrum(t *testing.T) {
	// Points ±(1,0) and ±(0,2) around the centre (5,5): centred singular
	// values √2·2 and √2·1.
	z := []float32{6, 5, 4, 5, 5, 7, 5, 3}
	s, err := CentredSpectrum(z, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !near(s[0], 2*math.Sqrt2, 1e-12) || !near(s[1], math.Sqrt2, 1e-12) {
		t.Errorf("centred spectrum %v", s)
	}
}

func TestEffectiveRankEdges(t *testing.T) {
	for _, tc := range []struct {
		s    []float64
		want float64
	}{
		{nil, 0},
		{[]float64{0, 0}, 0},
		{[]float64{5}, 1},
		{[]float64{2, 2, 2, 2}, 4},
		{[]float64{1, 1, 0, 0}, 2},
		{[]float64{1, 1e-20}, 1},
	} {
		if got := EffectiveRank(tc.s); !near(got, tc.want, 1e-12) {
			t.Errorf("EffectiveRank(%v) = %v, want %v", tc.s, got, tc.want)
		}
	}
	for _, bad := range [][]float64{{1, -1}, {math.NaN()}, {math.Inf(1), 1}} {
		if got := EffectiveRank(bad); !math.IsNaN(got) {
			t.Errorf("EffectiveRank(%v) = %v, want NaN", bad, got)
		}
	}
}
