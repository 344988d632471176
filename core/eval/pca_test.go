package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// anisotropic returns n rows of d Gaussian values with standard deviation
// scales[j] along the j-th column of a random rotation, plus an offset.
func anisotropic(r *rand.Rand, n, d int, scales []float64) (z []float32, rot *mat.Dense) {
	g := mat.NewDense(d, d, nil)
	for i := range d {
		for j := range d {
			g.Set(i, j, r.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	rot = new(mat.Dense)
	qr.QTo(rot)
	z = make([]float32, n*d)
	coef := make([]float64, d)
	for i := range n {
		for j := range d {
			coef[j] = r.NormFloat64() * scales[j]
		}
		for k := range d {
			v := 3.0 // offset: Project must centre
			for j := range d {
				v += rot.At(k, j) * coef[j]
			}
			z[i*d+k] = float32(v)
		}
	}
	return z, rot
}

func decreasing(d int) []float64 {
	s := make([]float64, d)
	for j := range s {
		s[j] = 0.2
	}
	s[0], s[1] = 5, 2.5
	if d > 2 {
		s[2] = 1
	}
	return s
}

func TestPCAMatchesSVD(t *testing.T) {
	for _, tc := range []struct{ n, d int }{{500, 2}, {400, 3}, {1000, 16}, {300, 128}, {40, 100}} {
		z, _ := anisotropic(newRand(uint64(tc.d)), tc.n, tc.d, decreasing(tc.d))
		p := PCA2{Tol: 1e-12, MaxIter: 1000}
		out := make([]float32, 2*tc.n)
		if err := p.Project(z, tc.n, tc.d, out); err != nil {
			t.Fatal(err)
		}
		x := toDense(z, tc.n, tc.d, true)
		var svd mat.SVD
		if !svd.Factorize(x, mat.SVDThinV) {
			t.Fatal("svd failed")
		}
		var v mat.Dense
		svd.VTo(&v)
		sv := svd.Values(nil)
		a0, a1, var0, var1 := p.Axes()
		for k, a := range [][]float64{a0, a1} {
			ref := mat.Col(nil, k, &v)
			if c := math.Abs(dot64(a, ref)); !near(c, 1, 1e-8) {
				t.Errorf("n=%d d=%d axis %d: |cos| with SVD = %v", tc.n, tc.d, k, c)
			}
			want := sv[k] * sv[k] / float64(tc.n)
			if got := []float64{var0, var1}[k]; !near(got, want, 1e-8*want) {
				t.Errorf("n=%d d=%d variance %d = %v, want %v", tc.n, tc.d, k, got, want)
			}
			// Coordinates are the centred rows times the axis.
			for i := range tc.n {
				c := dot64(x.RawRowView(i), a)
				if !near(float64(out[2*i+k]), c, 1e-5*(1+math.Abs(c))) {
					t.Fatalf("n=%d d=%d row %d coordinate %d = %v, want %v", tc.n, tc.d, i, k, out[2*i+k], c)
				}
			}
		}
		if d := dot64(a0, a1); !near(d, 0, 1e-10) {
			t.Errorf("axes not orthogonal: %v", d)
		}
	}
}

// rotatePlane rotates every row of z (d columns) by angle in the plane of
// coordinates i and j.
func rotatePlane(z []float32, d, i, j int, angle float64) []float32 {
	out := append([]float32(nil), z...)
	c, s := math.Cos(angle), math.Sin(angle)
	for r := 0; r < len(z); r += d {
		x, y := float64(z[r+i]), float64(z[r+j])
		out[r+i] = float32(c*x - s*y)
		out[r+j] = float32(s*x + c*y)
	}
	return out
}

func TestPCAOrientationStable(t *testing.T) {
	const n, d = 800, 10
	r := newRand(11)
	z, _ := anisotropic(r, n, d, decreasing(d))
	var p PCA2
	prev := make([]float32, 2*n)
	if err := p.Project(z, n, d, prev); err != nil {
		t.Fatal(err)
	}
	pa0, pa1, _, _ := p.Axes()
	cur := make([]float32, 2*n)
	for frame := range 60 {
		// Turn the cloud a little in a changing plane, plus a little noise
		// as training would add.
		z = rotatePlane(z, d, frame%d, (frame*3+1)%d, 0.03)
		for i := range z {
			z[i] += float32(0.01 * r.NormFloat64())
		}
		if err := p.Project(z, n, d, cur); err != nil {
			t.Fatal(err)
		}
		a0, a1, _, _ := p.Axes()
		if c0, c1 := dot64(a0, pa0), dot64(a1, pa1); c0 < 0.99 || c1 < 0.99 {
			t.Fatalf("frame %d: axes jumped (cos %v, %v)", frame, c0, c1)
		}
		// Points move a little, never mirror.
		var moved, size float64
		for i := range cur {
			e := float64(cur[i] - prev[i])
			moved += e * e
			size += float64(prev[i]) * float64(prev[i])
		}
		if moved > 0.05*size {
			t.Fatalf("frame %d: points moved %.3g of their spread", frame, moved/size)
		}
		copy(prev, cur)
		pa0, pa1 = a0, a1
	}
}

func TestPCANegatedDataKeepsAxes(t *testing.T) {
	// −z has the same principal axes; an eigensolver may return either
	// sign, the alignment must return the previous one.
	const n, d = 300, 6
	z, _ := anisotropic(newRand(4), n, d, decreasing(d))
	var p PCA2
	out := make([]float32, 2*n)
	if err := p.Project(z, n, d, out); err != nil {
		t.Fatal(err)
	}
	a0, a1, _, _ := p.Axes()
	neg := make([]float32, len(z))
	for i, v := range z {
		neg[i] = -v
	}
	p.Reset() // cold start: must pick the same canonical signs
	if err := p.Project(neg, n, d, out); err != nil {
		t.Fatal(err)
	}
	b0, b1, _, _ := p.Axes()
	if dot64(a0, b0) < 0.999 || dot64(a1, b1) < 0.999 {
		t.Errorf("canonical orientation differs for −z")
	}
	if err := p.Project(z, n, d, out); err != nil {
		t.Fatal(err)
	}
	c0, c1, _, _ := p.Axes()
	if dot64(a0, c0) < 0.999 || dot64(a1, c1) < 0.999 {
		t.Errorf("warm frame flipped the axes")
	}
}

func TestPCASwapKeepsTracking(t *testing.T) {
	// Variance along e0 shrinks and along e1 grows until they change
	// places: by eigenvalue the axes swap, but the plot must keep showing
	// e0 horizontally. (Through a gradual crossing the principal axes
	// themselves turn within their plane, which no alignment can undo, so
	// the crossing here happens between two frames.)
	const n, d = 1000, 4
	r := newRand(8)
	base := gaussian(r, n, d)
	var p PCA2
	out := make([]float32, 2*n)
	for step, s := range [][2]float64{{2, 1}, {1.8, 1.2}, {1.2, 1.8}, {1, 2}, {1.2, 1.8}, {2, 1}} {
		z := make([]float32, n*d)
		for i := range n {
			z[i*d] = base[i*d] * float32(s[0])
			z[i*d+1] = base[i*d+1] * float32(s[1])
			z[i*d+2] = base[i*d+2] * 0.1
			z[i*d+3] = base[i*d+3] * 0.1
		}
		if err := p.Project(z, n, d, out); err != nil {
			t.Fatal(err)
		}
		a0, a1, v0, v1 := p.Axes()
		if a0[0] < 0.99 || a1[1] < 0.99 {
			t.Fatalf("step %d: axis 0 = %.3f, axis 1 = %.3f (variances %.3f, %.3f)", step, a0, a1, v0, v1)
		}
		if (s[0] > s[1]) != (v0 > v1) {
			t.Fatalf("step %d: variances %.3f, %.3f do not follow the axes", step, v0, v1)
		}
	}
}

func TestPCADegenerate(t *testing.T) {
	// All rows equal: everything projects to the origin.
	z := make([]float32, 10*3)
	for i := range z {
		z[i] = float32(i % 3)
	}
	out, err := PCA2D(z, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out {
		if v != 0 {
			t.Fatalf("identical rows: %v", out)
		}
	}
	// Points on a line (rank one after centring): the second coordinate
	// is zero and the first is the signed distance along the line.
	line := make([]float32, 0, 5*4)
	for i := range 5 {
		t := float32(i - 2)
		line = append(line, t, 2*t, 0, 2*t)
	}
	out, err = PCA2D(line, 5, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		want := float64(i-2) * 3 // |(1,2,0,2)| = 3; largest component positive
		if !near(float64(out[2*i]), want, 1e-5) || !near(float64(out[2*i+1]), 0, 1e-5) {
			t.Errorf("line row %d: (%v, %v), want (%v, 0)", i, out[2*i], out[2*i+1], want)
		}
	}
	// One row.
	if out, err := PCA2D([]float32{1, 2, 3}, 1, 3); err != nil || out[0] != 0 || out[1] != 0 {
		t.Errorf("one row: %v, %v", out, err)
	}
}

func TestPCAErrors(t *testing.T) {
	var p PCA2
	ok := []float32{1, 2, 3, 4, 5, 7}
	if err := p.Project(ok, 3, 2, make([]float32, 6)); err != nil {
		t.Fatal(err)
	}
	a0, _, _, _ := p.Axes()
	for name, err := range map[string]error{
		"d=1":     p.Project(ok, 6, 1, make([]float32, 12)),
		"ragged":  p.Project(ok[:5], 3, 2, make([]float32, 6)),
		"out":     p.Project(ok, 3, 2, make([]float32, 5)),
		"n<0":     p.Project(ok, -3, 2, nil),
		"empty":   p.Project(nil, 0, 2, nil),
		"PCA2D d": func() error { _, err := PCA2D(ok, 6, 1); return err }(),
		"PCA2D n": func() error { _, err := PCA2D(ok, -1, 2); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	bad := []float32{1, 2, float32(math.NaN()), 4, 5, 7}
	if err := p.Project(bad, 3, 2, make([]float32, 6)); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN: %v", err)
	}
	if b0, _, _, _ := p.Axes(); dot64(a0, b0) != 1 && !near(dot64(a0, b0), 1, 1e-15) {
		t.Error("failed frame changed the state")
	}
	// A new width starts afresh instead of comparing axes of another size.
	if err := p.Project(make([]float32, 9), 3, 3, make([]float32, 6)); err != nil {
		t.Error(err)
	}
}

func TestPCA2DDeterministic(t *testing.T) {
	z, _ := anisotropic(newRand(6), 200, 12, decreasing(12))
	a, err := PCA2D(z, 200, 12)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := PCA2D(z, 200, 12)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("PCA2D not deterministic")
		}
	}
}

func BenchmarkPCA2Frame(b *testing.B) {
	const n, d = 2048, 512
	z, _ := anisotropic(newRand(1), n, d, decreasing(d))
	var p PCA2
	out := make([]float32, 2*n)
	for b.Loop() {
		if err := p.Project(z, n, d, out); err != nil {
			b.Fatal(err)
		}
	}
}
