package cpu

import (
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu/vec"
)

// BatchNorm statistics are accumulated in float64: a channel of a 2×256-image
// batch at 28×28 sums 200k values, where float32 sums lose digits. Each pass
// goes through vec, one plane (one image's channel) per call, so a channel's
// statistics cost one read of its planes, and normalising one more.
//
// The variance comes from one pass, as Σ(x−K)²/M − (Σ(x−K)/M)² with K the
// channel's first value: float64 sums of float32 squares are exact enough
// for that unless |mean| exceeds the standard deviation ~10⁴-fold, and the
// shift by K removes even that case.
//
// With small planes (BatchNorm1d has S = 1) a call per plane costs more than
// the plane; those layers go across channels instead, one sample row at a
// time (bnRows).

// bnTask runs a BatchNorm kernel over a range of channels; channels are
// independent, so they split across workers with no reduction.
type bnTask struct {
	op                                                    int // bnTrain, bnEval, bnBackward
	g                                                     backend.BNGeom
	x, y, dy, dx, gamma, beta, sm, si, rm, rv, dgam, dbet []float32
	momentum, eps                                         float32
	acc                                                   [4][]float64 // per-channel scratch for bnRows
}

const (
	bnTrain = iota
	bnEval
	bnBackward
)

// bnRowsBelow is the plane size under which BatchNorm runs across channels.
const bnRowsBelow = 16

func (t *bnTask) Run(lo, hi int) {
	rows := t.g.S < bnRowsBelow
	switch {
	case t.op == bnTrain && rows:
		bnTrainRows(t, lo, hi)
	case t.op == bnTrain:
		bnTrainChannels(t, lo, hi)
	case t.op == bnEval:
		bnEvalChannels(t, lo, hi)
	case rows:
		bnBackwardRows(t, lo, hi)
	default:
		bnBackwardChannels(t, lo, hi)
	}
}

func (c *CPU) runBN(t *bnTask) {
	if t.g.S < bnRowsBelow {
		for i := range t.acc {
			t.acc[i] = grow64(t.acc[i], t.g.C)
		}
	}
	// Small layers are not worth waking the workers for.
	grain := max(1, 32768/max(t.g.N*t.g.S, 1))
	c.pool.For(t.g.C, grain, t)
}

// setBN fills c.bn for one call, keeping its per-channel scratch.
func (c *CPU) setBN(t bnTask) *bnTask {
	t.acc = c.bn.acc
	c.bn = t
	return &c.bn
}

func (c *CPU) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar backend.Buffer, g backend.BNGeom, momentum, eps float32) {
	c.runBN(c.setBN(bnTask{op: bnTrain, g: g, x: f(x), y: f(y), gamma: f(gamma), beta: f(beta), sm: f(saveMean), si: f(saveInvStd),
		rm: f(runMean), rv: f(runVar), momentum: momentum, eps: eps}))
}

// bnStats turns one group's shifted sums of a channel into the saved mean
// and 1/std, and folds them into the running statistics.
func bnStats(t *bnTask, grp, ch int, shift, s, ss, m float64) (mean float64, inv float32) {
	d := s / m
	mean = shift + d
	variance := max(ss/m-d*d, 0)
	inv = float32(1 / math.Sqrt(variance+float64(t.eps)))
	t.sm[grp*t.g.C+ch], t.si[grp*t.g.C+ch] = float32(mean), inv
	unbiased := variance
	if m > 1 {
		unbiased = variance * m / (m - 1)
	}
	t.rm[ch] = (1-t.momentum)*t.rm[ch] + t.momentum*float32(mean)
	t.rv[ch] = (1-t.momentum)*t.rv[ch] + t.momentum*float32(unbiased)
	return mean, inv
}

func bnTrainChannels(t *bnTask, lo, hi int) {
	g := t.g
	ng := g.N / g.Groups
	m := float64(ng * g.S)
	for grp := 0; grp < g.Groups; grp++ {
		for ch := lo; ch < hi; ch++ {
			shift := float64(t.x[(grp*ng*g.C+ch)*g.S])
			var s, ss float64
			for n := grp * ng; n < (grp+1)*ng; n++ {
				o := (n*g.C + ch) * g.S
				a, b := vec.SumSq(t.x[o:o+g.S], shift)
				s += a
				ss += b
			}
			mean, inv := bnStats(t, grp, ch, shift, s, ss, m)
			for n := grp * ng; n < (grp+1)*ng; n++ {
				o := (n*g.C + ch) * g.S
				vec.Normalize(t.y[o:o+g.S], t.x[o:o+g.S], float32(mean), inv*t.gamma[ch], t.beta[ch])
			}
		}
	}
}

// bnTrainRows is bnTrainChannels for small planes: the sums of channels
// [lo, hi) run side by side over the group's rows.
func bnTrainRows(t *bnTask, lo, hi int) {
	g := t.g
	ng := g.N / g.Groups
	m := float64(ng * g.S)
	shift, s, ss, scale := t.acc[0][lo:hi], t.acc[1][lo:hi], t.acc[2][lo:hi], t.acc[3][lo:hi]
	w := (hi - lo) * g.S
	for grp := 0; grp < g.Groups; grp++ {
		first := grp * ng * g.C * g.S
		for j := range shift {
			shift[j] = float64(t.x[first+(lo+j)*g.S])
			s[j], ss[j] = 0, 0
		}
		for n := grp * ng; n < (grp+1)*ng; n++ {
			row := t.x[(n*g.C+lo)*g.S:][:w]
			for j := range shift {
				for _, v := range row[j*g.S : (j+1)*g.S] {
					d := float64(v) - shift[j]
					s[j] += d
					ss[j] += d * d
				}
			}
		}
		for j := range shift {
			mean, inv := bnStats(t, grp, lo+j, shift[j], s[j], ss[j], m)
			shift[j], scale[j] = mean, float64(inv*t.gamma[lo+j])
		}
		for n := grp * ng; n < (grp+1)*ng; n++ {
			o := (n*g.C + lo) * g.S
			row, out := t.x[o:o+w], t.y[o:o+w]
			for j := range shift {
				mean, a, b := float32(shift[j]), float32(scale[j]), t.beta[lo+j]
				for i := j * g.S; i < (j+1)*g.S; i++ {
					out[i] = (row[i]-mean)*a + b
				}
			}
		}
	}
}

func (c *CPU) BatchNormEval(x, y, gamma, beta, runMean, runVar backend.Buffer, g backend.BNGeom, eps float32) {
	t := c.setBN(bnTask{op: bnEval, g: g, x: f(x), y: f(y), gamma: f(gamma), beta: f(beta), rm: f(runMean), rv: f(runVar), eps: eps})
	// Evaluation is one elementwise pass per plane; it needs no row form.
	grain := max(1, 32768/max(g.N*g.S, 1))
	c.pool.For(g.C, grain, t)
}

func bnEvalChannels(t *bnTask, lo, hi int) {
	g, eps := t.g, t.eps
	for ch := lo; ch < hi; ch++ {
		scale := t.gamma[ch] / float32(math.Sqrt(float64(t.rv[ch])+float64(eps)))
		for n := 0; n < g.N; n++ {
			o := (n*g.C + ch) * g.S
			vec.Normalize(t.y[o:o+g.S], t.x[o:o+g.S], t.rm[ch], scale, t.beta[ch])
		}
	}
}

func (c *CPU) BatchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta backend.Buffer, g backend.BNGeom) {
	c.runBN(c.setBN(bnTask{op: bnBackward, g: g, x: f(x), dy: f(dy), gamma: f(gamma), sm: f(saveMean), si: f(saveInvStd),
		dx: f(dx), dgam: f(dgamma), dbet: f(dbeta)}))
}

// bnGradCoef returns dx = a·dy + b·(x−mean) + d for one group of a channel:
// dx = γ·inv/M · (M·dy − Σdy − x̂·Σ(dy·x̂)) with x̂ = (x−mean)·inv.
func bnGradCoef(gamma, inv float32, sdy, sdyx, m float64) (a, b, d float32) {
	k := float64(gamma) * float64(inv) / m
	return float32(k * m), float32(-k * float64(inv) * float64(inv) * sdyx), float32(-k * sdy)
}

func bnBackwardChannels(t *bnTask, lo, hi int) {
	g := t.g
	ng := g.N / g.Groups
	m := float64(ng * g.S)
	for ch := lo; ch < hi; ch++ {
		t.dgam[ch], t.dbet[ch] = 0, 0
	}
	for grp := 0; grp < g.Groups; grp++ {
		for ch := lo; ch < hi; ch++ {
			mean, inv := t.sm[grp*g.C+ch], t.si[grp*g.C+ch]
			var sdy, sdyx float64
			for n := grp * ng; n < (grp+1)*ng; n++ {
				o := (n*g.C + ch) * g.S
				a, b := vec.DotCentered(t.x[o:o+g.S], t.dy[o:o+g.S], float64(mean))
				sdy += a
				sdyx += b
			}
			// Σ(dy·x̂) = inv·Σdy·(x−mean)
			t.dgam[ch] += float32(sdyx * float64(inv))
			t.dbet[ch] += float32(sdy)
			a, b, d := bnGradCoef(t.gamma[ch], inv, sdy, sdyx, m)
			for n := grp * ng; n < (grp+1)*ng; n++ {
				o := (n*g.C + ch) * g.S
				vec.AxpyCentered(t.dx[o:o+g.S], t.x[o:o+g.S], t.dy[o:o+g.S], a, b, mean, d)
			}
		}
	}
}

// bnBackwardRows is bnBackwardChannels for small planes (see bnTrainRows).
func bnBackwardRows(t *bnTask, lo, hi int) {
	g := t.g
	ng := g.N / g.Groups
	m := float64(ng * g.S)
	sdy, sdyx := t.acc[0][lo:hi], t.acc[1][lo:hi]
	w := (hi - lo) * g.S
	for ch := lo; ch < hi; ch++ {
		t.dgam[ch], t.dbet[ch] = 0, 0
	}
	for grp := 0; grp < g.Groups; grp++ {
		mean := t.sm[grp*g.C+lo : grp*g.C+hi]
		inv := t.si[grp*g.C+lo : grp*g.C+hi]
		clear(sdy)
		clear(sdyx)
		for n := grp * ng; n < (grp+1)*ng; n++ {
			o := (n*g.C + lo) * g.S
			xr, gr := t.x[o:o+w], t.dy[o:o+w]
			for j := range sdy {
				mj := float64(mean[j])
				for i := j * g.S; i < (j+1)*g.S; i++ {
					d := float64(gr[i])
					sdy[j] += d
					sdyx[j] += d * (float64(xr[i]) - mj)
				}
			}
		}
		for j := range sdy {
			t.dgam[lo+j] += float32(sdyx[j] * float64(inv[j]))
			t.dbet[lo+j] += float32(sdy[j])
		}
		for n := grp * ng; n < (grp+1)*ng; n++ {
			o := (n*g.C + lo) * g.S
			xr, gr, out := t.x[o:o+w], t.dy[o:o+w], t.dx[o:o+w]
			for j := range sdy {
				a, b, d := bnGradCoef(t.gamma[lo+j], inv[j], sdy[j], sdyx[j], m)
				mj := mean[j]
				for i := j * g.S; i < (j+1)*g.S; i++ {
					out[i] = a*gr[i] + (b*(xr[i]-mj) + d)
				}
			}
		}
	}
}
