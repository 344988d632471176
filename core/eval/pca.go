package eval

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// PCA2 projects successive frames of embeddings onto their top two principal
// axes for a live scatter plot, keeping the picture steady: each frame's axes
// are matched to the previous frame's (order and sign), so points do not
// mirror or swap coordinates when the embeddings barely moved.
//
// The axes are found by subspace iteration on the centred data (never
// forming the d×d covariance), warm-started from the previous frame's axes,
// so a frame costs a few passes over the data rather than an O(d³) eigen
// decomposition. The zero value is ready to use; a PCA2 is not safe for
// concurrent use.
type PCA2 struct {
	// MaxIter bounds the subspace iterations per frame (default 50). When
	// the leading variances are nearly equal (an untrained network's
	// isotropic cloud) the axes are ill-defined and converge slowly; the
	// bound keeps a frame's cost predictable (about 6 ms an iteration for
	// 2048×512 on one core), and the axes found are then still an
	// orthonormal pair of high-variance directions.
	MaxIter int
	// Tol is the relative residual ‖Cv − λv‖ ≤ Tol·λ₁ at which an axis
	// counts as converged (default 1e-6).
	Tol float64

	axes [2][]float64 // the previous frame's axes; nil before the first
	vars [2]float64
}

// Reset forgets the previous frame, so the next Project chooses its
// orientation afresh.
func (p *PCA2) Reset() { p.axes = [2][]float64{} }

// Axes returns copies of the current two principal axes (unit vectors of
// length d) in display order, and the variances along them (population
// variance, divided by N). After the axes were swapped to follow the
// previous frame, var0 may be the smaller. They are nil before the first
// Project.
func (p *PCA2) Axes() (axis0, axis1 []float64, var0, var1 float64) {
	if p.axes[0] == nil {
		return nil, nil, 0, 0
	}
	return append([]float64(nil), p.axes[0]...), append([]float64(nil), p.axes[1]...), p.vars[0], p.vars[1]
}

// Project writes the coordinates of the n rows of z (n×d) on the top two
// principal axes into out: out[2i], out[2i+1] for row i, relative to the
// mean of z. out must hold 2n values; d must be at least 2.
//
// Orientation: the new axes are swapped back if the first is closer to the
// previous second axis (|a₀·p₁| > |a₀·p₀|), then each axis's sign is chosen
// so that it points the same way as its predecessor (aᵢ·pᵢ ≥ 0). On the first
// frame, or after Reset or a change of d, each axis's largest component is
// made positive. Non-finite entries are an error and leave the state as it
// was.
func (p *PCA2) Project(z []float32, n, d int, out []float32) error {
	if n < 0 || d < 2 {
		return fmt.Errorf("eval: PCA2 of %d×%d, want n ≥ 0 and d ≥ 2", n, d)
	}
	if len(z) != n*d {
		return fmt.Errorf("eval: PCA2 got %d values for %d×%d", len(z), n, d)
	}
	if len(out) != 2*n {
		return fmt.Errorf("eval: PCA2 output has %d values, want %d", len(out), 2*n)
	}
	if n == 0 {
		return errors.New("eval: PCA2 of an empty matrix")
	}
	if err := checkFinite("z", z, d); err != nil {
		return err
	}
	if p.axes[0] != nil && len(p.axes[0]) != d {
		p.Reset()
	}
	x := toDense(z, n, d, true)
	a, vars := p.topTwo(x, n, d)
	p.orient(&a, &vars)
	p.axes, p.vars = a, vars
	for i := range n {
		row := x.RawRowView(i)
		var c0, c1 float64
		for j, v := range row {
			c0 += v * a[0][j]
			c1 += v * a[1][j]
		}
		out[2*i], out[2*i+1] = float32(c0), float32(c1)
	}
	return nil
}

// PCA2D projects the n rows of z (n×d, d ≥ 2) onto their top two principal
// axes, returning 2n coordinates (x, y per row). The orientation is fixed by
// making each axis's largest component positive; use a PCA2 to keep it
// stable across frames.
func PCA2D(z []float32, n, d int) ([]float32, error) {
	if n < 0 {
		return nil, fmt.Errorf("eval: PCA2D of %d rows", n)
	}
	out := make([]float32, 2*n)
	var p PCA2
	if err := p.Project(z, n, d, out); err != nil {
		return nil, err
	}
	return out, nil
}

// topTwo returns the two leading eigenvectors of the covariance XᵀX/n of the
// centred x and their eigenvalues, by subspace iteration with Rayleigh–Ritz
// on a block of b ≥ 2 vectors: the extra vectors make the second axis
// converge at rate λ_{b+1}/λ₂ rather than λ₃/λ₂.
func (p *PCA2) topTwo(x *mat.Dense, n, d int) ([2][]float64, [2]float64) {
	maxIter, tol := p.MaxIter, p.Tol
	if maxIter <= 0 {
		maxIter = 50
	}
	if !(tol > 0) {
		tol = 1e-6
	}
	b := min(d, 8)
	v := mat.NewDense(d, b, nil)
	// Start from the previous axes (usually a few iterations from the
	// answer) and fill the rest of the block with fixed pseudo-random
	// directions, so that the result is deterministic.
	seed := uint64(0x2545F4914F6CDD1D)
	for j := range b {
		if j < 2 && p.axes[j] != nil {
			v.SetCol(j, p.axes[j])
			continue
		}
		for i := range d {
			seed ^= seed << 13
			seed ^= seed >> 7
			seed ^= seed << 17
			v.Set(i, j, float64(seed>>11)/(1<<53)-0.5)
		}
	}
	orthonormalise(v)

	var xv, h, cv, u, tmpV, tmpX mat.Dense
	var eig mat.EigenSym
	sym := mat.NewSymDense(b, nil)
	vals := make([]float64, b)
	theta := make([]float64, b)
	order := make([]int, b)
	rot := mat.NewDense(b, b, nil)
	for it := 1; ; it++ {
		// Rayleigh–Ritz: rotate the block so that it diagonalises VᵀCV,
		// Ritz values in descending order.
		xv.Mul(x, v)
		h.Mul(xv.T(), &xv)
		for i := range b {
			for j := i; j < b; j++ {
				sym.SetSym(i, j, (h.At(i, j)+h.At(j, i))/(2*float64(n)))
			}
		}
		if !eig.Factorize(sym, true) {
			break // only for non-finite input, which Project rejects
		}
		eig.Values(vals)
		eig.VectorsTo(&u)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(i, j int) bool { return vals[order[i]] > vals[order[j]] })
		for k, o := range order {
			theta[k] = math.Max(vals[o], 0)
			for i := range b {
				rot.Set(i, k, u.At(i, o))
			}
		}
		tmpV.Mul(v, rot)
		v.Copy(&tmpV)
		tmpX.Mul(&xv, rot)
		xv.Copy(&tmpX)

		// C·V; the top two Ritz pairs are converged when their residuals
		// are small next to the largest variance.
		cv.Mul(x.T(), &xv)
		cv.Scale(1/float64(n), &cv)
		done := true
		for k := range 2 {
			var r float64
			for i := range d {
				e := cv.At(i, k) - theta[k]*v.At(i, k)
				r += e * e
			}
			if math.Sqrt(r) > tol*theta[0] {
				done = false
			}
		}
		if done || it >= maxIter {
			break
		}
		v.Copy(&cv)
		orthonormalise(v)
	}
	return [2][]float64{mat.Col(nil, 0, v), mat.Col(nil, 1, v)}, [2]float64{theta[0], theta[1]}
}

// orthonormalise replaces the columns of v by an orthonormal basis of their
// span (modified Gram–Schmidt, applied twice for accuracy). A column that
// lies in the span of the earlier ones (the data has fewer directions than
// the block) is replaced by a unit vector e_i that does not: j < d
// orthonormal columns leave some e_i a residual of at least 1/√d.
func orthonormalise(v *mat.Dense) {
	d, b := v.Dims()
	col := make([]float64, d)
	for j := range b {
		mat.Col(col, j, v)
		for e := 0; e <= d; e++ {
			before := norm64(col)
			for range 2 {
				for k := range j {
					var dot float64
					for i := range d {
						dot += col[i] * v.At(i, k)
					}
					for i := range d {
						col[i] -= dot * v.At(i, k)
					}
				}
			}
			if nrm := norm64(col); nrm > 1e-10*before && nrm > 0 {
				break
			}
			clear(col)
			col[(j+e)%d] = 1
		}
		nrm := norm64(col)
		for i := range d {
			v.Set(i, j, col[i]/nrm)
		}
	}
}

func norm64(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// orient matches the axes a, and their variances, to the previous frame's
// (see Project).
func (p *PCA2) orient(a *[2][]float64, vars *[2]float64) {
	prev := p.axes
	if prev[0] == nil {
		for _, ax := range a {
			big := 0
			for i, x := range ax {
				if math.Abs(x) > math.Abs(ax[big]) {
					big = i
				}
			}
			if ax[big] < 0 {
				negate(ax)
			}
		}
		return
	}
	if math.Abs(dot64(a[0], prev[1])) > math.Abs(dot64(a[0], prev[0])) {
		a[0], a[1] = a[1], a[0]
		vars[0], vars[1] = vars[1], vars[0]
	}
	for k := range 2 {
		if dot64(a[k], prev[k]) < 0 {
			negate(a[k])
		}
	}
}

func dot64(a, b []float64) float64 {
	var s float64
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

func negate(v []float64) {
	for i := range v {
		v[i] = -v[i]
	}
}
