package cpu

import (
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
)

// BatchNorm statistics are accumulated in float64: a channel of a 2×256-image
// batch at 28×28 sums 200k values, where float32 sums lose digits.

// bnTask runs a BatchNorm kernel over a range of channels; channels are
// independent, so they split across workers with no reduction.
type bnTask struct {
	op                                                    int // bnTrain, bnEval, bnBackward
	g                                                     backend.BNGeom
	x, y, dy, dx, gamma, beta, sm, si, rm, rv, dgam, dbet []float32
	momentum, eps                                         float32
}

const (
	bnTrain = iota
	bnEval
	bnBackward
)

func (t *bnTask) Run(lo, hi int) {
	switch t.op {
	case bnTrain:
		bnTrainChannels(t, lo, hi)
	case bnEval:
		bnEvalChannels(t, lo, hi)
	case bnBackward:
		bnBackwardChannels(t, lo, hi)
	}
}

func (c *CPU) runBN(t *bnTask) {
	// Small layers are not worth waking the workers for.
	grain := max(1, 32768/max(t.g.N*t.g.S, 1))
	c.pool.For(t.g.C, grain, t)
}

func (c *CPU) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar backend.Buffer, g backend.BNGeom, momentum, eps float32) {
	c.bn = bnTask{op: bnTrain, g: g, x: f(x), y: f(y), gamma: f(gamma), beta: f(beta), sm: f(saveMean), si: f(saveInvStd),
		rm: f(runMean), rv: f(runVar), momentum: momentum, eps: eps}
	c.runBN(&c.bn)
}

func bnTrainChannels(t *bnTask, lo, hi int) {
	g, momentum, eps := t.g, t.momentum, t.eps
	xd, yd, gm, bt, sm, si, rm, rv := t.x, t.y, t.gamma, t.beta, t.sm, t.si, t.rm, t.rv
	ng := g.N / g.Groups
	m := float64(ng * g.S)
	for grp := 0; grp < g.Groups; grp++ {
		for ch := lo; ch < hi; ch++ {
			var sum float64
			for n := grp * ng; n < (grp+1)*ng; n++ {
				for _, v := range xd[(n*g.C+ch)*g.S : (n*g.C+ch+1)*g.S] {
					sum += float64(v)
				}
			}
			mean := sum / m
			var ss float64
			for n := grp * ng; n < (grp+1)*ng; n++ {
				for _, v := range xd[(n*g.C+ch)*g.S : (n*g.C+ch+1)*g.S] {
					d := float64(v) - mean
					ss += d * d
				}
			}
			variance := ss / m
			inv := 1 / math.Sqrt(variance+float64(eps))
			sm[grp*g.C+ch], si[grp*g.C+ch] = float32(mean), float32(inv)
			unbiased := variance
			if m > 1 {
				unbiased = ss / (m - 1)
			}
			rm[ch] = (1-momentum)*rm[ch] + momentum*float32(mean)
			rv[ch] = (1-momentum)*rv[ch] + momentum*float32(unbiased)
			scale := float32(inv) * gm[ch]
			shift := bt[ch] - float32(mean)*scale
			for n := grp * ng; n < (grp+1)*ng; n++ {
				o := (n*g.C + ch) * g.S
				for s, v := range xd[o : o+g.S] {
					yd[o+s] = v*scale + shift
				}
			}
		}
	}
}

func (c *CPU) BatchNormEval(x, y, gamma, beta, runMean, runVar backend.Buffer, g backend.BNGeom, eps float32) {
	c.bn = bnTask{op: bnEval, g: g, x: f(x), y: f(y), gamma: f(gamma), beta: f(beta), rm: f(runMean), rv: f(runVar), eps: eps}
	c.runBN(&c.bn)
}

func bnEvalChannels(t *bnTask, lo, hi int) {
	g, eps := t.g, t.eps
	xd, yd, gm, bt, rm, rv := t.x, t.y, t.gamma, t.beta, t.rm, t.rv
	for ch := lo; ch < hi; ch++ {
		scale := gm[ch] / float32(math.Sqrt(float64(rv[ch])+float64(eps)))
		shift := bt[ch] - rm[ch]*scale
		for n := 0; n < g.N; n++ {
			o := (n*g.C + ch) * g.S
			for s, v := range xd[o : o+g.S] {
				yd[o+s] = v*scale + shift
			}
		}
	}
}

func (c *CPU) BatchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta backend.Buffer, g backend.BNGeom) {
	c.bn = bnTask{op: bnBackward, g: g, x: f(x), dy: f(dy), gamma: f(gamma), sm: f(saveMean), si: f(saveInvStd),
		dx: f(dx), dgam: f(dgamma), dbet: f(dbeta)}
	c.runBN(&c.bn)
}

func bnBackwardChannels(t *bnTask, lo, hi int) {
	g := t.g
	xd, gd, dd, gm, sm, si, dg, db := t.x, t.dy, t.dx, t.gamma, t.sm, t.si, t.dgam, t.dbet
	ng := g.N / g.Groups
	m := float64(ng * g.S)
	for ch := lo; ch < hi; ch++ {
		dg[ch], db[ch] = 0, 0
	}
	for grp := 0; grp < g.Groups; grp++ {
		for ch := lo; ch < hi; ch++ {
			mean, inv := float64(sm[grp*g.C+ch]), float64(si[grp*g.C+ch])
			var sdy, sdyx float64
			for n := grp * ng; n < (grp+1)*ng; n++ {
				o := (n*g.C + ch) * g.S
				for s, v := range xd[o : o+g.S] {
					dyv := float64(gd[o+s])
					sdy += dyv
					sdyx += dyv * (float64(v) - mean) * inv
				}
			}
			dg[ch] += float32(sdyx)
			db[ch] += float32(sdy)
			// dx = γ·inv/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
			k := float64(gm[ch]) * inv / m
			for n := grp * ng; n < (grp+1)*ng; n++ {
				o := (n*g.C + ch) * g.S
				for s, v := range xd[o : o+g.S] {
					xhat := (float64(v) - mean) * inv
					dd[o+s] = float32(k * (m*float64(gd[o+s]) - sdy - xhat*sdyx))
				}
			}
		}
	}
}
