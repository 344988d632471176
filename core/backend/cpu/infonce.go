package cpu

import (
	"fmt"
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
)

// InfoNCELoss is SimCLR's NT-Xent loss over the rows of z, with its gradient
// through the ℓ2 normalisation (see backend.Backend). It works in float64 on
// the rows×rows similarity matrix (2B ≤ 2048 rows at training sizes), one
// row per task so the result does not depend on the thread count.
func (c *CPU) InfoNCELoss(z, dz, loss backend.Buffer, rows, d, shift int, temperature, scale float32) {
	t := &c.nce
	t.z, t.dz = f(z)[:rows*d], f(dz)[:rows*d]
	if rows == 0 {
		f(loss)[0] = 0
		return
	}
	t.rows, t.d, t.shift = rows, d, infoNCEShift(rows, shift)
	t.invT, t.scale = 1/float64(temperature), float64(scale)
	t.u, t.du = grow64(t.u, rows*d), grow64(t.du, rows*d)
	t.norm, t.terms = grow64(t.norm, rows), grow64(t.terms, rows)
	t.g = grow64(t.g, rows*rows)
	for i := 0; i < rows; i++ {
		r := t.z[i*d : (i+1)*d]
		t.norm[i] = rowNorm(r)
		for k, v := range r {
			t.u[i*d+k] = float64(v) / t.norm[i]
		}
	}
	grain := max(1, (1<<16)/max(1, rows*d))
	t.phase = 0
	c.pool.For(rows, grain, t)
	t.phase = 1
	c.pool.For(rows, grain, t)
	var total float64
	for _, v := range t.terms {
		total += v
	}
	f(loss)[0] = float32(total * t.scale)
}

// infoNCEShift reduces shift to [0, rows) and refuses a row paired with
// itself: its only positive would be the excluded diagonal.
func infoNCEShift(rows, shift int) int {
	shift %= rows
	if shift < 0 {
		shift += rows
	}
	if shift == 0 {
		panic(fmt.Sprintf("cpu: InfoNCELoss: shift ≡ 0 mod %d pairs every row with itself", rows))
	}
	return shift
}

// nceTask holds InfoNCELoss's arguments and float64 scratch between calls,
// so a training step does not allocate.
type nceTask struct {
	z, dz          []float32
	rows, d, shift int
	invT, scale    float64
	u, du, norm, g []float64
	terms          []float64
	phase          int
}

func (t *nceTask) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		if t.phase == 0 {
			t.logits(i)
		} else {
			t.grad(i)
		}
	}
}

// logits sets row i of g to ∂ℓ_i/∂s_ik · (1/T) = (softmax_i(k) − [k = pos])/T,
// s_ik = u_i·u_k/T over k ≠ i, and terms[i] to ℓ_i.
func (t *nceTask) logits(i int) {
	rows, d := t.rows, t.d
	ui, gi := t.u[i*d:(i+1)*d], t.g[i*rows:(i+1)*rows]
	top := math.Inf(-1)
	for k := 0; k < rows; k++ {
		if k == i {
			continue
		}
		var dot float64
		for j, v := range t.u[k*d : (k+1)*d] {
			dot += ui[j] * v
		}
		gi[k] = dot * t.invT
		top = max(top, gi[k])
	}
	// Subtracting the row's largest logit keeps exp in range for any T.
	pos := (i + t.shift) % rows
	logPos := gi[pos] - top
	var sum float64
	for k := 0; k < rows; k++ {
		if k != i {
			gi[k] = math.Exp(gi[k] - top)
			sum += gi[k]
		}
	}
	t.terms[i] = math.Log(sum) - logPos
	gi[i] = 0
	for k := range gi {
		gi[k] *= t.invT / sum
	}
	gi[pos] -= t.invT
}

// grad writes row i of dz: s is symmetric, so ∂L/∂u_i = Σ_k (g_ik + g_ki)·u_k,
// then back through u = z/‖z‖: dz = (du − (du·u)·u)/‖z‖, times scale.
func (t *nceTask) grad(i int) {
	rows, d := t.rows, t.d
	du := t.du[i*d : (i+1)*d]
	clear(du)
	for k := 0; k < rows; k++ {
		w := t.g[i*rows+k] + t.g[k*rows+i]
		for j, v := range t.u[k*d : (k+1)*d] {
			du[j] += w * v
		}
	}
	ui := t.u[i*d : (i+1)*d]
	var dot float64
	for j, v := range du {
		dot += v * ui[j]
	}
	s := t.scale / t.norm[i]
	out := t.dz[i*d : (i+1)*d]
	for j, v := range du {
		out[j] = float32(s * (v - dot*ui[j]))
	}
}

func grow64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}
