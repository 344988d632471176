package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// bnRef is BatchNorm in float64, two-pass, straight from the definitions.
type bnRef struct {
	y, mean, inv, rm, rv, dx, dgam, dbet []float64
}

func refBatchNorm(g backend.BNGeom, x, dy, gamma, beta, rm0, rv0 []float64, momentum, eps float64) bnRef {
	r := bnRef{y: make([]float64, len(x)), dx: make([]float64, len(x)),
		mean: make([]float64, g.Groups*g.C), inv: make([]float64, g.Groups*g.C),
		rm: append([]float64(nil), rm0...), rv: append([]float64(nil), rv0...),
		dgam: make([]float64, g.C), dbet: make([]float64, g.C)}
	ng := g.N / g.Groups
	m := float64(ng * g.S)
	for grp := range g.Groups {
		for ch := range g.C {
			idx := func(yield func(int) bool) {
				for n := grp * ng; n < (grp+1)*ng; n++ {
					for s := range g.S {
						if !yield((n*g.C+ch)*g.S + s) {
							return
						}
					}
				}
			}
			var sum, ss float64
			for i := range idx {
				sum += x[i]
			}
			mean := sum / m
			for i := range idx {
				ss += (x[i] - mean) * (x[i] - mean)
			}
			variance := ss / m
			inv := 1 / math.Sqrt(variance+eps)
			r.mean[grp*g.C+ch], r.inv[grp*g.C+ch] = mean, inv
			unb := variance
			if m > 1 {
				unb = ss / (m - 1)
			}
			r.rm[ch] = (1-momentum)*r.rm[ch] + momentum*mean
			r.rv[ch] = (1-momentum)*r.rv[ch] + momentum*unb
			var sdy, sdyx float64
			for i := range idx {
				xh := (x[i] - mean) * inv
				r.y[i] = xh*gamma[ch] + beta[ch]
				sdy += dy[i]
				sdyx += dy[i] * xh
			}
			r.dgam[ch] += sdyx
			r.dbet[ch] += sdy
			for i := range idx {
				xh := (x[i] - mean) * inv
				r.dx[i] = gamma[ch] * inv / m * (m*dy[i] - sdy - xh*sdyx)
			}
		}
	}
	return r
}

// TestBatchNorm compares the train and backward passes with the float64
// reference on planes of every kind (S = 1 for BatchNorm1d, odd sizes, the
// model's 7×7 and 28×28), with one and two groups, on activations whose mean
// is far from zero. The results must not depend on the thread count.
func TestBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pools := []*parallel.Pool{parallel.New(1), parallel.New(2), parallel.New(3)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	geoms := []backend.BNGeom{
		{N: 8, C: 5, S: 1, Groups: 2}, {N: 512, C: 64, S: 1, Groups: 2}, {N: 6, C: 3, S: 7, Groups: 1},
		{N: 4, C: 4, S: 15, Groups: 2}, {N: 6, C: 3, S: 16, Groups: 1}, {N: 4, C: 5, S: 49, Groups: 2},
		{N: 4, C: 3, S: 784, Groups: 2}, {N: 3, C: 2, S: 33, Groups: 3}, {N: 2, C: 1, S: 1, Groups: 2},
	}
	for _, g := range geoms {
		for _, offset := range []float64{0, 300} {
			name := fmt.Sprintf("N%d_C%d_S%d_G%d_mean%v", g.N, g.C, g.S, g.Groups, offset)
			t.Run(name, func(t *testing.T) {
				n := g.N * g.C * g.S
				rnd := func(k int, mu, sd float64) []float32 {
					v := make([]float32, k)
					for i := range v {
						v[i] = float32(mu + sd*rng.NormFloat64())
					}
					return v
				}
				x, dy := rnd(n, offset, 1.5), rnd(n, 0, 1)
				gamma, beta := rnd(g.C, 1, 0.3), rnd(g.C, 0, 0.3)
				rm0, rv0 := rnd(g.C, 0, 1), rnd(g.C, 2, 0.1)
				want := refBatchNorm(g, f64(x), f64(dy), f64(gamma), f64(beta), f64(rm0), f64(rv0), 0.1, 1e-5)
				var first [][]float32
				for _, p := range pools {
					c := New(p)
					buf := func(v []float32) *Buf { return &Buf{append([]float32(nil), v...)} }
					y, sm, si := c.Alloc(n), c.Alloc(g.Groups*g.C), c.Alloc(g.Groups*g.C)
					rm, rv := buf(rm0), buf(rv0)
					dx, dgam, dbet := c.Alloc(n), c.Alloc(g.C), c.Alloc(g.C)
					c.BatchNormTrain(buf(x), y, buf(gamma), buf(beta), sm, si, rm, rv, g, 0.1, 1e-5)
					c.BatchNormBackward(buf(x), buf(dy), buf(gamma), sm, si, dx, dgam, dbet, g)
					const tol = 2e-5
					// dx is a difference of terms of size γ·inv·|dy|, which a
					// one-sample group makes large while dx is zero.
					dxTerms := 0.0
					for i, w := range want.inv {
						ch := i % g.C
						for _, v := range dy {
							dxTerms = max(dxTerms, math.Abs(float64(gamma[ch])*w*float64(v)))
						}
					}
					for _, cmp := range []struct {
						name string
						got  []float32
						want []float64
					}{
						{"y", Data(y), want.y}, {"mean", Data(sm), want.mean}, {"invstd", Data(si), want.inv},
						{"running mean", Data(rm), want.rm}, {"running var", Data(rv), want.rv},
						{"dx", Data(dx), want.dx}, {"dgamma", Data(dgam), want.dgam}, {"dbeta", Data(dbet), want.dbet},
					} {
						scale := 0.0
						if cmp.name == "dx" {
							scale = dxTerms
						}
						for _, w := range cmp.want {
							scale = max(scale, math.Abs(w))
						}
						for i, w := range cmp.want {
							if d := math.Abs(float64(cmp.got[i]) - w); !(d <= tol*(scale+1)) {
								t.Fatalf("threads=%d %s[%d] = %v, want %v", p.Threads(), cmp.name, i, cmp.got[i], w)
							}
						}
					}
					outs := [][]float32{Data(y), Data(sm), Data(si), Data(rm), Data(rv), Data(dx), Data(dgam), Data(dbet)}
					if first == nil {
						first = outs
						continue
					}
					for k := range outs {
						for i := range outs[k] {
							if math.Float32bits(outs[k][i]) != math.Float32bits(first[k][i]) {
								t.Fatalf("threads=%d: output %d element %d differs from one thread", p.Threads(), k, i)
							}
						}
					}
				}
			})
		}
	}
}

func f64(v []float32) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}
