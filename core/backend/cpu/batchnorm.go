package cpu

import (
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
)

// BatchNorm statistics are accumulated in float64: a channel of a 2×256-image
// batch at 28×28 sums 200k values, where float32 sums lose digits.

func (c *CPU) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar backend.Buffer, g backend.BNGeom, momentum, eps float32) {
	xd, yd := f(x), f(y)
	gm, bt := f(gamma), f(beta)
	sm, si := f(saveMean), f(saveInvStd)
	rm, rv := f(runMean), f(runVar)
	ng := g.N / g.Groups
	m := float64(ng * g.S)
	for grp := 0; grp < g.Groups; grp++ {
		for ch := 0; ch < g.C; ch++ {
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
	xd, yd := f(x), f(y)
	gm, bt, rm, rv := f(gamma), f(beta), f(runMean), f(runVar)
	for ch := 0; ch < g.C; ch++ {
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
	xd, gd, dd := f(x), f(dy), f(dx)
	gm, sm, si := f(gamma), f(saveMean), f(saveInvStd)
	dg, db := f(dgamma), f(dbeta)
	ng := g.N / g.Groups
	m := float64(ng * g.S)
	for ch := 0; ch < g.C; ch++ {
		dg[ch], db[ch] = 0, 0
	}
	for grp := 0; grp < g.Groups; grp++ {
		for ch := 0; ch < g.C; ch++ {
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
