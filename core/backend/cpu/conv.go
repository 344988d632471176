package cpu

import "github.com/byol-lab/byol-lab/core/backend"

// Convolution is im2col + GEMM, parallel over the images of the batch: each
// worker unfolds its own images into a private column buffer and runs a
// single-threaded GEMM, which keeps the working set in that core's cache.

type convOp int

const (
	convForward convOp = iota
	convBackwardData
	convBackwardFilter
)

// convTask is reused by every convolution call so that calls do not allocate.
type convTask struct {
	op      convOp
	g       backend.ConvGeom
	x, w, y []float32 // forward: x,w → y; backward data: y=dy, w → x=dx; filter: x, y=dy → w=dw
	parts   int
	scratch [][]float32 // per-worker column buffers
	dw      [][]float32 // per-worker filter-gradient partial sums
}

func (c *CPU) runConv(op convOp, g backend.ConvGeom, x, w, y []float32) {
	t := &c.conv
	t.op, t.g, t.x, t.w, t.y = op, g, x, w, y
	t.parts = min(c.pool.Threads(), g.N)
	colLen := g.Cin * g.K * g.K * g.OutH() * g.OutW()
	for i := 0; i < t.parts; i++ {
		if len(t.scratch[i]) < colLen {
			t.scratch[i] = make([]float32, colLen)
		}
		if op == convBackwardFilter && len(t.dw[i]) < len(w) {
			t.dw[i] = make([]float32, len(w))
		}
	}
	c.pool.For(t.parts, 1, t)
	if op == convBackwardFilter {
		copy(w, t.dw[0][:len(w)])
		for i := 1; i < t.parts; i++ {
			for j, v := range t.dw[i][:len(w)] {
				w[j] += v
			}
		}
	}
}

// Run handles workers [lo, hi); each worker takes a contiguous run of images.
func (t *convTask) Run(lo, hi int) {
	g := t.g
	ho, wo := g.OutH(), g.OutW()
	rows, cols := g.Cin*g.K*g.K, ho*wo
	inSize, outSize := g.Cin*g.H*g.W, g.Cout*cols
	for part := lo; part < hi; part++ {
		col := t.scratch[part][:rows*cols]
		first := true
		for n := part * g.N / t.parts; n < (part+1)*g.N/t.parts; n++ {
			x := t.x[n*inSize : (n+1)*inSize]
			y := t.y[n*outSize : (n+1)*outSize]
			switch t.op {
			case convForward:
				im2col(x, col, g)
				sgemm(false, false, g.Cout, cols, rows, 1, t.w, rows, col, cols, 0, y, cols)
			case convBackwardData:
				sgemm(true, false, rows, cols, g.Cout, 1, t.w, rows, y, cols, 0, col, cols)
				col2im(col, x, g)
			case convBackwardFilter:
				im2col(x, col, g)
				beta := float32(1)
				if first {
					beta = 0
				}
				sgemm(false, true, g.Cout, rows, cols, 1, y, cols, col, cols, beta, t.dw[part][:len(t.w)], rows)
			}
			first = false
		}
		if t.op == convBackwardFilter && first { // a worker with no images contributes zero
			clear(t.dw[part][:len(t.w)])
		}
	}
}

// im2col unfolds one CHW image into a (Cin·K·K) × (Ho·Wo) matrix.
func im2col(x, col []float32, g backend.ConvGeom) {
	ho, wo := g.OutH(), g.OutW()
	r := 0
	for ci := 0; ci < g.Cin; ci++ {
		plane := x[ci*g.H*g.W : (ci+1)*g.H*g.W]
		for ky := 0; ky < g.K; ky++ {
			for kx := 0; kx < g.K; kx++ {
				out := col[r*ho*wo : (r+1)*ho*wo]
				r++
				for oy := 0; oy < ho; oy++ {
					iy := oy*g.Stride - g.Pad + ky
					row := out[oy*wo : (oy+1)*wo]
					if iy < 0 || iy >= g.H {
						clear(row)
						continue
					}
					src := plane[iy*g.W : (iy+1)*g.W]
					for ox := range row {
						ix := ox*g.Stride - g.Pad + kx
						if ix >= 0 && ix < g.W {
							row[ox] = src[ix]
						} else {
							row[ox] = 0
						}
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it overwrites x with the sum of the
// column entries that each input pixel contributed to.
func col2im(col, x []float32, g backend.ConvGeom) {
	clear(x)
	ho, wo := g.OutH(), g.OutW()
	r := 0
	for ci := 0; ci < g.Cin; ci++ {
		plane := x[ci*g.H*g.W : (ci+1)*g.H*g.W]
		for ky := 0; ky < g.K; ky++ {
			for kx := 0; kx < g.K; kx++ {
				in := col[r*ho*wo : (r+1)*ho*wo]
				r++
				for oy := 0; oy < ho; oy++ {
					iy := oy*g.Stride - g.Pad + ky
					if iy < 0 || iy >= g.H {
						continue
					}
					dst := plane[iy*g.W : (iy+1)*g.W]
					for ox, v := range in[oy*wo : (oy+1)*wo] {
						ix := ox*g.Stride - g.Pad + kx
						if ix >= 0 && ix < g.W {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

func (c *CPU) Conv2d(x, w, y backend.Buffer, g backend.ConvGeom) {
	c.runConv(convForward, g, f(x), f(w), f(y))
}

func (c *CPU) Conv2dBackwardData(dy, w, dx backend.Buffer, g backend.ConvGeom) {
	c.runConv(convBackwardData, g, f(dx), f(w), f(dy))
}

func (c *CPU) Conv2dBackwardFilter(x, dy, dw backend.Buffer, g backend.ConvGeom) {
	c.runConv(convBackwardFilter, g, f(x), f(dw), f(dy))
}
