package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// refConv is the direct convolution in float64: y[n,co,oy,ox] =
// Σ w[co,ci,ky,kx]·x[n,ci,oy·s−p+ky,ox·s−p+kx]. visit calls f for every
// (input index, weight index, output index) triple, which gives the forward
// pass and both gradients from one loop nest.
func refConv(g backend.ConvGeom, visit func(xi, wi, yi int)) {
	ho, wo := g.OutH(), g.OutW()
	for n := range g.N {
		for co := range g.Cout {
			for oy := range ho {
				for ox := range wo {
					yi := ((n*g.Cout+co)*ho+oy)*wo + ox
					for ci := range g.Cin {
						for ky := range g.K {
							for kx := range g.K {
								iy, ix := oy*g.Stride-g.Pad+ky, ox*g.Stride-g.Pad+kx
								if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
									continue
								}
								visit(((n*g.Cin+ci)*g.H+iy)*g.W+ix, ((co*g.Cin+ci)*g.K+ky)*g.K+kx, yi)
							}
						}
					}
				}
			}
		}
	}
}

// guardedBuf is a Buf inside NaN guard bands (see the gemm tests).
func guardedBuf(v []float32) (*Buf, []float32) {
	const guard = 23
	all := make([]float32, len(v)+2*guard)
	for i := range all {
		all[i] = sentinel
	}
	copy(all[guard:], v)
	return &Buf{all[guard : guard+len(v) : guard+len(v)]}, all
}

var sentinel = math.Float32frombits(0x7fc0beef)

func checkGuards(t *testing.T, name string, all []float32, n int) {
	t.Helper()
	const guard = 23
	for i, v := range all {
		if (i < guard || i >= guard+n) && math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Fatalf("%s: guard cell %d overwritten", name, i-guard)
		}
	}
}

// TestConv compares the three convolution passes with the direct loops on
// random geometries (odd sizes, strides 1–3, padding 0–2, kernels 1–5, a
// kernel wider than the padded input's remainder), with 1, 2 and 3 threads.
// Outputs are overwritten, so they start as NaN.
func TestConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	geoms := []backend.ConvGeom{
		{N: 3, Cin: 1, H: 28, W: 28, Cout: 4, K: 3, Stride: 1, Pad: 1},
		{N: 2, Cin: 3, H: 14, W: 14, Cout: 5, K: 3, Stride: 2, Pad: 1},
		{N: 2, Cin: 2, H: 7, W: 7, Cout: 3, K: 3, Stride: 2, Pad: 1},
		{N: 1, Cin: 2, H: 4, W: 4, Cout: 2, K: 1, Stride: 1, Pad: 0},
		// the stride-2 fast path: wo = 14, 7, 16, 1, 15 and 17 (too wide)
		{N: 3, Cin: 2, H: 28, W: 28, Cout: 3, K: 3, Stride: 2, Pad: 1},
		{N: 2, Cin: 3, H: 14, W: 14, Cout: 4, K: 3, Stride: 2, Pad: 1},
		{N: 2, Cin: 2, H: 32, W: 32, Cout: 2, K: 3, Stride: 2, Pad: 1},
		{N: 2, Cin: 2, H: 2, W: 2, Cout: 2, K: 3, Stride: 2, Pad: 1},
		{N: 2, Cin: 2, H: 6, W: 30, Cout: 2, K: 3, Stride: 2, Pad: 1},
		{N: 1, Cin: 2, H: 4, W: 34, Cout: 2, K: 3, Stride: 2, Pad: 1},
	}
	for range 30 {
		k := 1 + 2*rng.IntN(3)
		g := backend.ConvGeom{N: 1 + rng.IntN(4), Cin: 1 + rng.IntN(4), H: k + rng.IntN(9), W: k + rng.IntN(9),
			Cout: 1 + rng.IntN(5), K: k, Stride: 1 + rng.IntN(3), Pad: rng.IntN(3)}
		g.Pad = min(g.Pad, k-1)
		geoms = append(geoms, g)
	}
	pools := []*parallel.Pool{parallel.New(1), parallel.New(2), parallel.New(3)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, g := range geoms {
		t.Run(fmt.Sprintf("%+v", g), func(t *testing.T) {
			nx, nw, ny := g.N*g.Cin*g.H*g.W, g.Cout*g.Cin*g.K*g.K, g.N*g.Cout*g.OutH()*g.OutW()
			rnd := func(n int) []float32 {
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
				return v
			}
			x, w, dy := rnd(nx), rnd(nw), rnd(ny)
			y64, dx64, dw64 := make([]float64, ny), make([]float64, nx), make([]float64, nw)
			ymag, dxmag, dwmag := make([]float64, ny), make([]float64, nx), make([]float64, nw)
			refConv(g, func(xi, wi, yi int) {
				xv, wv, gv := float64(x[xi]), float64(w[wi]), float64(dy[yi])
				y64[yi] += wv * xv
				ymag[yi] += math.Abs(wv * xv)
				dx64[xi] += wv * gv
				dxmag[xi] += math.Abs(wv * gv)
				dw64[wi] += xv * gv
				dwmag[wi] += math.Abs(xv * gv)
			})
			// Batches of one image, of two (several per worker) and of all.
			saved, savedBelow := convBatchFloats, convBatchBelow
			defer func() { convBatchFloats, convBatchBelow = saved, savedBelow }()
			convBatchBelow = 1 << 30
			colLen := g.Cin * g.K * g.K * g.OutH() * g.OutW()
			for _, limit := range []int{1, 2 * colLen, saved} {
				convBatchFloats = limit
				for _, p := range pools {
					checkConv(t, p, g, x, w, dy, y64, dx64, dw64, ymag, dxmag, dwmag)
				}
			}
		})
	}
}

func checkConv(t *testing.T, p *parallel.Pool, g backend.ConvGeom, x, w, dy []float32, y64, dx64, dw64, ymag, dxmag, dwmag []float64) {
	t.Helper()
	nx, nw, ny := len(x), len(w), len(dy)
	nan := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(math.NaN())
		}
		return v
	}
	c := New(p)
	xb, xall := guardedBuf(x)
	wb, wall := guardedBuf(w)
	dyb, dyall := guardedBuf(dy)
	yb, yall := guardedBuf(nan(ny))
	dxb, dxall := guardedBuf(nan(nx))
	dwb, dwall := guardedBuf(nan(nw))
	c.Conv2d(xb, wb, yb, g)
	c.Conv2dBackwardData(dyb, wb, dxb, g)
	c.Conv2dBackwardFilter(xb, dyb, dwb, g)
	for _, cmp := range []struct {
		name      string
		got       []float32
		want, mag []float64
		all       []float32
	}{
		{"y", Data(yb), y64, ymag, yall}, {"dx", Data(dxb), dx64, dxmag, dxall}, {"dw", Data(dwb), dw64, dwmag, dwall},
	} {
		for i, want := range cmp.want {
			if d := math.Abs(float64(cmp.got[i]) - want); !(d <= 1e-5*cmp.mag[i]+1e-30) {
				t.Fatalf("threads=%d batch limit %d: %s[%d] = %v, want %v", p.Threads(), convBatchFloats, cmp.name, i, cmp.got[i], want)
			}
		}
		checkGuards(t, cmp.name, cmp.all, len(cmp.got))
	}
	checkGuards(t, "x", xall, nx)
	checkGuards(t, "w", wall, nw)
	checkGuards(t, "dy", dyall, ny)
}
