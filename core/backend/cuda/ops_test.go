//go:build cuda || cudaemu

package cuda_test

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/backend"
)

// Tests of the ops in kernels/ops.cuh against the CPU backend. Shapes are
// small and odd (C=3, S=7, d=33, rows not a multiple of 32) so the emulator
// stays quick; on a GPU the training shapes run as well.

// onGPU reports whether the kernels run on a real GPU (not the emulator),
// where the full-size shapes are cheap.
func onGPU(p *pair) bool { return !strings.Contains(strings.ToLower(p.dev.Name()), "emu") }

func TestOpsFill(t *testing.T) {
	p := newPair(t)
	x := p.randn(1003, 1)
	for _, v := range []float32{0, 2.5, float32(math.Inf(-1))} {
		p.ref.Fill(x.ref.Slice(3, 997), v)
		p.dev.Fill(x.dev.Slice(3, 997), v)
		p.check(fmt.Sprintf("Fill %v", v), x, 0)
	}
}

func TestOpsElementwise(t *testing.T) {
	for _, n := range []int{1, 37, 1000, 20011} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := newPair(t)
			x, y := p.randn(n, 1), p.out(n)
			p.ref.ReLU(x.ref, y.ref, n)
			p.dev.ReLU(x.dev, y.dev, n)
			p.check("ReLU", y, 0)

			dy, dx := p.randn(n, 1), p.out(n)
			p.ref.ReLUBackward(y.ref, dy.ref, dx.ref, n)
			p.dev.ReLUBackward(y.dev, dy.dev, dx.dev, n)
			p.check("ReLUBackward", dx, 0)
			p.ref.ReLUBackward(x.ref, dy.ref, dy.ref, n) // in place
			p.dev.ReLUBackward(x.dev, dy.dev, dy.dev, n)
			p.check("ReLUBackward in place", dy, 0)
			p.ref.ReLU(x.ref, x.ref, n)
			p.dev.ReLU(x.dev, x.dev, n)
			p.check("ReLU in place", x, 0)

			a, b, s := p.randn(n, 1), p.randn(n, 1), p.out(n)
			p.ref.Add(s.ref, a.ref, b.ref, n)
			p.dev.Add(s.dev, a.dev, b.dev, n)
			p.check("Add", s, 0)
			p.ref.Add(a.ref, a.ref, b.ref, n) // y aliases a
			p.dev.Add(a.dev, a.dev, b.dev, n)
			p.check("Add aliased", a, 0)

			tgt, onl := p.randn(n, 1), p.randn(n, 1)
			for _, tau := range []float32{0.99, 0.996} {
				p.ref.EMA(tgt.ref, onl.ref, tau)
				p.dev.EMA(tgt.dev, onl.dev, tau)
			}
			p.check("EMA", tgt, 1e-6)
		})
	}
}

// TestOpsReLUNaN: a NaN passes through ReLU, as on the CPU, so SumSquares
// can still see a diverged run.
func TestOpsReLUNaN(t *testing.T) {
	p := newPair(t)
	x := p.from([]float32{float32(math.NaN()), -1, 0, 2})
	y := p.out(4)
	p.ref.ReLU(x.ref, y.ref, 4)
	p.dev.ReLU(x.dev, y.dev, 4)
	p.check("ReLU NaN", y, 0)
}

func TestOpsBias(t *testing.T) {
	shapes := [][2]int{{1, 1}, {7, 3}, {33, 65}, {100, 1000}, {512, 64}}
	for _, sh := range shapes {
		rows, cols := sh[0], sh[1]
		t.Run(fmt.Sprintf("%dx%d", rows, cols), func(t *testing.T) {
			p := newPair(t)
			y, bias := p.randn(rows*cols, 1), p.randn(cols, 1)
			p.ref.AddBias(y.ref, bias.ref, rows, cols)
			p.dev.AddBias(y.dev, bias.dev, rows, cols)
			p.check("AddBias", y, 0)

			dy, db := p.randn(rows*cols, 1), p.out(cols)
			p.ref.BiasGrad(db.ref, dy.ref, rows, cols)
			p.dev.BiasGrad(db.dev, dy.dev, rows, cols)
			p.check("BiasGrad", db, fp32)
		})
	}
}

func TestOpsBatchNorm(t *testing.T) {
	shapes := []backend.BNGeom{
		{N: 8, C: 3, S: 7, Groups: 2},
		{N: 6, C: 3, S: 1500, Groups: 2}, // 4500 values a pair: two chunks, split mid-plane
		{N: 4, C: 2, S: 4097, Groups: 1}, // five chunks
		{N: 64, C: 8, S: 64, Groups: 2},
		{N: 16, C: 4, S: 16, Groups: 2},
		{N: 32, C: 5, S: 1, Groups: 2}, // BatchNorm1d
		{N: 64, C: 33, S: 1, Groups: 2},
		{N: 1, C: 4, S: 1, Groups: 1}, // one value a channel: no unbiased variance
	}
	big := []backend.BNGeom{
		{N: 512, C: 32, S: 1024, Groups: 2},
		{N: 512, C: 128, S: 64, Groups: 2},
		{N: 1024, C: 512, S: 16, Groups: 2},
		{N: 512, C: 512, S: 1, Groups: 2},
		{N: 512, C: 64, S: 1, Groups: 2},
	}
	for i, g := range append(shapes, big...) {
		t.Run(fmt.Sprintf("N%d_C%d_S%d_G%d", g.N, g.C, g.S, g.Groups), func(t *testing.T) {
			p := newPair(t)
			if i >= len(shapes) && !onGPU(p) {
				t.Skip("full-size shape: GPU only")
			}
			testBatchNorm(t, p, g)
		})
	}
}

func testBatchNorm(t *testing.T, p *pair, g backend.BNGeom) {
	n, gc := g.N*g.C*g.S, g.Groups*g.C
	// A mean far from zero checks that the variance does not cancel.
	h := make([]float32, n)
	for i := range h {
		h[i] = 3 + 2*float32(p.rng.NormFloat64())
	}
	x := p.from(h)
	gamma, beta := p.uniform(g.C, 0.5, 1.5), p.randn(g.C, 0.5)
	rm, rv := p.randn(g.C, 0.1), p.uniform(g.C, 0.5, 1.5)
	y, sm, si := p.out(n), p.out(gc), p.out(gc)
	const momentum, eps = 0.1, 1e-5
	for range 2 { // the running statistics accumulate
		p.ref.BatchNormTrain(x.ref, y.ref, gamma.ref, beta.ref, sm.ref, si.ref, rm.ref, rv.ref, g, momentum, eps)
		p.dev.BatchNormTrain(x.dev, y.dev, gamma.dev, beta.dev, sm.dev, si.dev, rm.dev, rv.dev, g, momentum, eps)
	}
	p.check("BatchNormTrain y", y, fp32)
	p.check("saveMean", sm, fp32)
	p.check("saveInvStd", si, fp32)
	p.check("runMean", rm, fp32)
	p.check("runVar", rv, fp32)

	ye := p.out(n)
	p.ref.BatchNormEval(x.ref, ye.ref, gamma.ref, beta.ref, rm.ref, rv.ref, g, eps)
	p.dev.BatchNormEval(x.dev, ye.dev, gamma.dev, beta.dev, rm.dev, rv.dev, g, eps)
	p.check("BatchNormEval", ye, fp32)

	dy, dx, dg, db := p.randn(n, 1), p.out(n), p.out(g.C), p.out(g.C)
	p.ref.BatchNormBackward(x.ref, dy.ref, gamma.ref, sm.ref, si.ref, dx.ref, dg.ref, db.ref, g)
	p.dev.BatchNormBackward(x.dev, dy.dev, gamma.dev, sm.dev, si.dev, dx.dev, dg.dev, db.dev, g)
	p.check("BatchNormBackward dx", dx, fp32)
	p.check("dgamma", dg, fp32)
	p.check("dbeta", db, fp32)
}

func TestOpsPool(t *testing.T) {
	for _, sh := range [][3]int{{2, 3, 7}, {4, 5, 64}, {3, 2, 1}, {2, 2, 1000}, {8, 64, 16}} {
		n, c, s := sh[0], sh[1], sh[2]
		t.Run(fmt.Sprintf("%dx%dx%d", n, c, s), func(t *testing.T) {
			p := newPair(t)
			x, y := p.randn(n*c*s, 1), p.out(n*c)
			p.ref.GlobalAvgPool(x.ref, y.ref, n, c, s)
			p.dev.GlobalAvgPool(x.dev, y.dev, n, c, s)
			p.check("GlobalAvgPool", y, fp32)

			dy, dx := p.randn(n*c, 1), p.out(n*c*s)
			p.ref.GlobalAvgPoolBackward(dy.ref, dx.ref, n, c, s)
			p.dev.GlobalAvgPoolBackward(dy.dev, dx.dev, n, c, s)
			p.check("GlobalAvgPoolBackward", dx, 0)
		})
	}
}

// zeroRow clears row r of a rows×d tensor on both sides (the ε branch).
func zeroRow(p *pair, x tensor, r, d int) {
	p.ref.Fill(x.ref.Slice(r*d, d), 0)
	p.dev.Fill(x.dev.Slice(r*d, d), 0)
}

func TestOpsL2Normalize(t *testing.T) {
	for _, sh := range [][2]int{{1, 1}, {5, 33}, {40, 64}, {7, 256}} {
		rows, d := sh[0], sh[1]
		t.Run(fmt.Sprintf("%dx%d", rows, d), func(t *testing.T) {
			p := newPair(t)
			x, y := p.randn(rows*d, 3), p.out(rows*d)
			if rows > 2 {
				zeroRow(p, x, 2, d)
			}
			p.ref.L2Normalize(x.ref, y.ref, rows, d)
			p.dev.L2Normalize(x.dev, y.dev, rows, d)
			p.check("L2Normalize", y, fp32)
		})
	}
}

func TestOpsBYOLLoss(t *testing.T) {
	cases := []struct{ rows, d, shift int }{
		{1, 1, 0}, {40, 33, 20}, {37, 64, 5}, {64, 128, 32}, {8, 256, 0}, {512, 256, 256},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d_shift%d", tc.rows, tc.d, tc.shift), func(t *testing.T) {
			p := newPair(t)
			n := tc.rows * tc.d
			pp, z, dp, loss := p.randn(n, 1), p.randn(n, 2), p.out(n), p.out(1)
			if tc.rows > 3 {
				zeroRow(p, z, 3, tc.d)
			}
			// dp is about 2·scale/‖p‖: this scale makes it O(1), so the
			// tolerance (relative to max(1, max|ref|)) is tight.
			scale := float32(math.Sqrt(float64(tc.d)))
			for range 2 { // the second call checks that the block ticket was reset
				p.ref.BYOLLoss(pp.ref, z.ref, dp.ref, loss.ref, tc.rows, tc.d, tc.shift, scale)
				p.dev.BYOLLoss(pp.dev, z.dev, dp.dev, loss.dev, tc.rows, tc.d, tc.shift, scale)
				p.check("BYOLLoss", loss, fp32)
				p.check("BYOLLoss dp", dp, fp32)
			}
		})
	}
}

func TestOpsSumSquares(t *testing.T) {
	for _, n := range []int{1, 1000, 100003} {
		p := newPair(t)
		x := p.randn(n, 1)
		r, d := p.ref.SumSquares(x.ref), p.dev.SumSquares(x.dev)
		if math.Abs(float64(r-d)) > 1e-5*float64(r) {
			t.Errorf("SumSquares of %d: cpu %v, cuda %v", n, r, d)
		}
		if d2 := p.dev.SumSquares(x.dev); d2 != d {
			t.Errorf("SumSquares of %d does not replay: %v then %v", n, d, d2)
		}
	}
	p := newPair(t)
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		x := p.randn(5000, 1)
		p.dev.Fill(x.dev.Slice(4321, 1), bad)
		if d := p.dev.SumSquares(x.dev); !math.IsNaN(float64(d)) && !math.IsInf(float64(d), 0) {
			t.Errorf("SumSquares with a %v: %v", bad, d)
		}
	}
}

// optSegs covers a 6000-float buffer with gaps (1037–1100, 3600–3700,
// 4901–6000) that must stay untouched, segments that span several blocks,
// and every combination of LRScale, Decay and Adapt.
var optSegs = []backend.Segment{
	{Off: 0, Len: 1000, LRScale: 1, Decay: true, Adapt: true},
	{Off: 1000, Len: 37, LRScale: 1},
	{Off: 1100, Len: 2500, LRScale: 10, Decay: true, Adapt: true},
	{Off: 3700, Len: 1, LRScale: 1, Decay: true},
	{Off: 3701, Len: 1200, LRScale: 0.5, Adapt: true},
}

const optN = 6000

func TestOpsOptimisers(t *testing.T) {
	for _, name := range []string{"AdamW", "SGD", "LARS"} {
		t.Run(name, func(t *testing.T) {
			p := newPair(t)
			// Learning rates make each update a sizeable part of the
			// parameter, so an error in it shows through the tolerance.
			w := p.randn(optN, 1)
			s1, s2 := p.randn(optN, 1), p.uniform(optN, 0, 1)
			for step := 1; step <= 3; step++ {
				g := p.randn(optN, 1)
				lr := 0.3 / float32(step)
				// A fresh copy of the segments each step: the table cache
				// must compare content, not the slice.
				segs := append([]backend.Segment(nil), optSegs...)
				switch name {
				case "AdamW":
					h := backend.AdamHyper{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.5, Step: step}
					p.ref.AdamW(w.ref, g.ref, s1.ref, s2.ref, segs, h)
					p.dev.AdamW(w.dev, g.dev, s1.dev, s2.dev, segs, h)
				case "SGD", "LARS":
					h := backend.SGDHyper{LR: lr, Momentum: 0.9, WeightDecay: 0.1, Trust: 0.001}
					if name == "LARS" {
						h.LR *= 300 // the trust ratio η‖p‖/‖d‖ is about 0.001
					}
					if name == "SGD" {
						p.ref.SGD(w.ref, g.ref, s1.ref, segs, h)
						p.dev.SGD(w.dev, g.dev, s1.dev, segs, h)
					} else {
						p.ref.LARS(w.ref, g.ref, s1.ref, segs, h)
						p.dev.LARS(w.dev, g.dev, s1.dev, segs, h)
					}
				}
				p.check(fmt.Sprintf("%s step %d params", name, step), w, fp32)
				p.check(fmt.Sprintf("%s step %d state", name, step), s1, fp32)
				if name == "AdamW" {
					p.check(fmt.Sprintf("%s step %d v", name, step), s2, fp32)
				}
			}
		})
	}
}

// TestOpsNoAllocs: the ops of a steady-state step do not allocate on the
// Go heap (the segment table is cached, launches copy their arguments).
func TestOpsNoAllocs(t *testing.T) {
	p := newPair(t)
	w, g, m, v := p.randn(optN, 1), p.randn(optN, 0.1), p.randn(optN, 0.1), p.uniform(optN, 0, 1)
	bg := backend.BNGeom{N: 4, C: 3, S: 5, Groups: 2}
	x, y, gb := p.randn(60, 1), p.out(60), p.uniform(3, 1, 2)
	sm, si := p.out(6), p.out(6)
	ah := backend.AdamHyper{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 1}
	sh := backend.SGDHyper{LR: 0.1, Momentum: 0.9, Trust: 0.001}
	rm, rv := m.dev.Slice(0, 3), v.dev.Slice(0, 3) // views are made at setup
	lp, lz, ld := w.dev.Slice(0, 40*33), g.dev.Slice(0, 40*33), m.dev.Slice(0, 40*33)
	loss, dx := v.dev.Slice(5999, 1), p.out(60).dev
	step := func() {
		p.dev.AdamW(w.dev, g.dev, m.dev, v.dev, optSegs, ah)
		p.dev.SGD(w.dev, g.dev, m.dev, optSegs, sh)
		p.dev.LARS(w.dev, g.dev, m.dev, optSegs, sh)
		p.dev.EMA(m.dev, w.dev, 0.99)
		p.dev.BatchNormTrain(x.dev, y.dev, gb.dev, gb.dev, sm.dev, si.dev, rm, rv, bg, 0.1, 1e-5)
		p.dev.BatchNormBackward(x.dev, y.dev, gb.dev, sm.dev, si.dev, dx, rm, rv, bg)
		p.dev.BYOLLoss(lp, lz, ld, loss, 40, 33, 20, 1)
		p.dev.SumSquares(w.dev)
	}
	step() // warm-up: builds the segment table and the scratch space
	if n := testing.AllocsPerRun(5, step); n != 0 {
		t.Errorf("a steady-state step allocates %v times", n)
	}
	if err := p.dev.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestOpsSpeed times the ops at training sizes on a GPU and reports the
// effective memory bandwidth (bytes an op must move / time). It runs only
// with BYOL_OPS_SPEED=1, e.g. on a lent GPU:
//
//	BYOL_OPS_SPEED=1 ./cuda.test -test.run TestOpsSpeed -test.v
func TestOpsSpeed(t *testing.T) {
	if os.Getenv("BYOL_OPS_SPEED") == "" {
		t.Skip("set BYOL_OPS_SPEED=1 to time the ops")
	}
	p := newPair(t)
	if !onGPU(p) {
		t.Skip("timings mean nothing on the emulator")
	}
	timeOp := func(name string, bytes int, f func()) {
		t.Helper()
		f()
		if err := p.dev.Sync(); err != nil {
			t.Fatal(err)
		}
		iters := 0
		start := time.Now()
		for time.Since(start) < 200*time.Millisecond {
			for range 10 {
				f()
			}
			if err := p.dev.Sync(); err != nil {
				t.Fatal(err)
			}
			iters += 10
		}
		d := time.Since(start) / time.Duration(iters)
		t.Logf("%-44s %9.1f µs %7.0f GB/s", name, float64(d.Nanoseconds())/1e3, float64(bytes)/float64(d.Nanoseconds()))
	}
	dev := p.dev
	alloc := func(n int) backend.Buffer {
		b := dev.Alloc(n)
		dev.Fill(b, 0.5)
		return b
	}

	const big = 16 << 20
	x, y := alloc(big), alloc(big)
	timeOp("ReLU 16M", 8*big, func() { dev.ReLU(x, y, big) })
	timeOp("Add 16M", 12*big, func() { dev.Add(y, x, y, big) })

	for _, g := range []backend.BNGeom{
		{N: 512, C: 32, S: 1024, Groups: 2}, {N: 512, C: 64, S: 256, Groups: 2}, {N: 512, C: 128, S: 64, Groups: 2},
		{N: 1024, C: 64, S: 1024, Groups: 2}, {N: 1024, C: 512, S: 16, Groups: 2},
		{N: 512, C: 512, S: 1, Groups: 2}, {N: 512, C: 64, S: 1, Groups: 2},
	} {
		n, gc := g.N*g.C*g.S, g.Groups*g.C
		bx, by, bdy := alloc(n), alloc(n), alloc(n)
		gm, bt, rm, rv, sm, si := alloc(g.C), alloc(g.C), alloc(g.C), alloc(g.C), alloc(gc), alloc(gc)
		shape := fmt.Sprintf("N%d C%d S%d", g.N, g.C, g.S)
		timeOp("BatchNormTrain "+shape, 8*n, func() {
			dev.BatchNormTrain(bx, by, gm, bt, sm, si, rm, rv, g, 0.1, 1e-5)
		})
		timeOp("BatchNormEval "+shape, 8*n, func() { dev.BatchNormEval(bx, by, gm, bt, rm, rv, g, 1e-5) })
		timeOp("BatchNormBackward "+shape, 12*n, func() {
			dev.BatchNormBackward(bx, bdy, gm, sm, si, by, rm, rv, g)
		})
	}

	gx, gy := alloc(512*512*16), alloc(512*512)
	timeOp("GlobalAvgPool 512×512×16", 4*(512*512*17), func() { dev.GlobalAvgPool(gx, gy, 512, 512, 16) })
	timeOp("GlobalAvgPoolBackward 512×512×16", 4*(512*512*17), func() { dev.GlobalAvgPoolBackward(gy, gx, 512, 512, 16) })
	timeOp("BiasGrad 512×4096", 4*512*4096, func() { dev.BiasGrad(gy, gx, 512, 4096) })
	timeOp("AddBias 512×4096", 8*512*4096, func() { dev.AddBias(gx, gy, 512, 4096) })
	timeOp("L2Normalize 512×256", 8*512*256, func() { dev.L2Normalize(gx, gy, 512, 256) })
	loss := alloc(1)
	timeOp("BYOLLoss 512×256", 12*512*256, func() { dev.BYOLLoss(gx, gx, gy, loss, 512, 256, 256, 1) })

	// A ResNet-18-like flat buffer: conv weights (decayed, adapted) and
	// BatchNorm vectors (neither), 11.2M floats in 62 segments.
	var segs []backend.Segment
	off := 0
	add := func(n int, w bool) {
		segs = append(segs, backend.Segment{Off: off, Len: n, LRScale: 1, Decay: w, Adapt: w})
		off += n
	}
	for _, l := range []struct{ c, k, n int }{{64, 9 * 64, 5}, {128, 9 * 128, 4}, {256, 9 * 256, 4}, {512, 9 * 512, 4}} {
		for range l.n {
			add(l.c*l.k, true)
			add(l.c, false)
			add(l.c, false)
		}
	}
	for off < 11_200_000 && len(segs) < 62 {
		add(min(11_200_000-off, 512*1000), true)
	}
	np := off
	pw, pg, pm, pv := alloc(np), alloc(np), alloc(np), alloc(np)
	tw := alloc(np)
	ah := backend.AdamHyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.05, Step: 1}
	sh := backend.SGDHyper{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-6, Trust: 0.001}
	label := fmt.Sprintf("%.1fM in %d segments", float64(np)/1e6, len(segs))
	timeOp("AdamW "+label, 28*np, func() { dev.AdamW(pw, pg, pm, pv, segs, ah) })
	timeOp("SGD "+label, 20*np, func() { dev.SGD(pw, pg, pm, segs, sh) })
	timeOp("LARS "+label, 20*np, func() { dev.LARS(pw, pg, pm, segs, sh) })
	timeOp("EMA "+label, 12*np, func() { dev.EMA(tw, pw, 0.99) })
	timeOp("SumSquares "+label, 4*np, func() { dev.SumSquares(pg) })
	timeOp("Fill "+label, 4*np, func() { dev.Fill(pg, 0.5) })
}
