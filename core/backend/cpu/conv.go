package cpu

import (
	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu/vec"
)

// Convolution is im2col + GEMM, parallel over the images of the batch: each
// worker unfolds its own images into a private column buffer and runs a
// single-threaded GEMM, which keeps the working set in that core's cache.
//
// A worker unfolds several images side by side (a batch of nb images gives
// a (Cin·K·K) × (nb·Ho·Wo) matrix) and runs one GEMM for all of them. Per
// image, a 7×7 output is too narrow for the GEMM's 32-wide tiles and the
// filters would be packed again for every image; batched, the tiles fill
// up, the packing is shared and the filter gradient is accumulated in one
// call rather than image by image. The outputs (or output gradients) of a
// batch are copied between NCHW and the batch's Cout × (nb·Ho·Wo) layout.
//
// Only narrow outputs are batched (Ho·Wo < convBatchBelow): from 14×14 up,
// tiles fill anyway and copying the batch's outputs costs what the shared
// packing saves.
//
// The unfolding goes through a table that gives, for every kernel tap and
// output pixel, the input pixel it reads, or −1 in the padding. Unfolding a
// row is then one gather (vec.Gather) with no bounds arithmetic: 2–3 times
// faster than computing the coordinates for rows of 7–28 values, which is
// what these images have. The encoders' downsampling layers (3×3, stride 2)
// have their own unfold and fold with AVX-512, faster again (vec.Unfold3x3s2).

type convOp int

const (
	convForward convOp = iota
	convBackwardData
	convBackwardFilter
)

// convBatchFloats bounds a worker's column buffer (nb images' worth): about
// 512 KiB, which leaves L2 room for the GEMM's packed copy of it. (A
// variable for the tests, which make batches of one and two images.)
var convBatchFloats = 1 << 17

// convBatchBelow is the output size (Ho·Wo) under which images are batched.
var convBatchBelow = 128

// convTask is reused by every convolution call so that calls do not allocate.
type convTask struct {
	op      convOp
	g       backend.ConvGeom
	x, w, y []float32 // forward: x,w → y; backward data: y=dy, w → x=dx; filter: x, y=dy → w=dw
	parts   int
	nb      int         // images per GEMM
	scratch [][]float32 // per-worker column buffers
	outs    [][]float32 // per-worker Cout × (nb·Ho·Wo) outputs or output gradients
	planes  [][]float32 // per-worker input-gradient plane and a slot for the padding
	dw      [][]float32 // per-worker filter-gradient partial sums
	tables  []convTable // one per geometry seen, so steps do not allocate
	tab     *convTable  // the current geometry's
}

// convTable maps tap t = ky·K+kx and output pixel j to tap[t·Ho·Wo+j]: the
// input pixel iy·W+ix read there, or −1 when it falls in the padding. add
// is the same with H·W for −1, a slot past the plane that col2im discards:
// a branch on the padding would be mispredicted at every edge.
type convTable struct {
	g        backend.ConvGeom // with N = 0
	tap, add []int32
}

func (t *convTask) table(g backend.ConvGeom) *convTable {
	g.N = 0
	for i := range t.tables {
		if t.tables[i].g == g {
			return &t.tables[i]
		}
	}
	ho, wo := g.OutH(), g.OutW()
	tap := make([]int32, g.K*g.K*ho*wo)
	for ky := range g.K {
		for kx := range g.K {
			row := tap[(ky*g.K+kx)*ho*wo:]
			for oy := range ho {
				for ox := range wo {
					iy, ix := oy*g.Stride-g.Pad+ky, ox*g.Stride-g.Pad+kx
					v := int32(-1)
					if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
						v = int32(iy*g.W + ix)
					}
					row[oy*wo+ox] = v
				}
			}
		}
	}
	add := make([]int32, len(tap))
	for i, v := range tap {
		add[i] = v
		if v < 0 {
			add[i] = int32(g.H * g.W)
		}
	}
	t.tables = append(t.tables, convTable{g, tap, add})
	return &t.tables[len(t.tables)-1]
}

func (c *CPU) runConv(op convOp, g backend.ConvGeom, x, w, y []float32) {
	t := &c.conv
	t.op, t.g, t.x, t.w, t.y = op, g, x, w, y
	t.parts = min(c.pool.Threads(), g.N)
	t.tab = t.table(g)
	rows, cols := g.Cin*g.K*g.K, g.OutH()*g.OutW()
	t.nb = 1
	if cols < convBatchBelow {
		t.nb = max(1, min((g.N+t.parts-1)/t.parts, convBatchFloats/(rows*cols)))
	}
	for i := 0; i < t.parts; i++ {
		t.scratch[i] = grow32(t.scratch[i], rows*cols*t.nb)
		if t.nb > 1 {
			t.outs[i] = grow32(t.outs[i], g.Cout*cols*t.nb)
		}
		if op == convBackwardFilter {
			t.dw[i] = grow32(t.dw[i], len(w))
		}
		if op == convBackwardData {
			t.planes[i] = grow32(t.planes[i], g.H*g.W+1)
		}
	}
	c.pool.For(t.parts, 1, t)
	if op == convBackwardFilter {
		copy(w, t.dw[0][:len(w)])
		for i := 1; i < t.parts; i++ {
			vec.Add(w, w, t.dw[i][:len(w)])
		}
	}
}

func grow32(s []float32, n int) []float32 {
	if len(s) < n {
		return make([]float32, n)
	}
	return s
}

// Run handles workers [lo, hi); each worker takes a contiguous run of images
// and works through it nb images at a time.
func (t *convTask) Run(lo, hi int) {
	g := t.g
	rows, cols := g.Cin*g.K*g.K, g.OutH()*g.OutW()
	inSize, outSize := g.Cin*g.H*g.W, g.Cout*cols
	for part := lo; part < hi; part++ {
		n0, n1 := part*g.N/t.parts, (part+1)*g.N/t.parts
		if n0 == n1 && t.op == convBackwardFilter { // a worker with no images contributes zero
			clear(t.dw[part][:len(t.w)])
		}
		for b0 := n0; b0 < n1; b0 += t.nb {
			nb := min(t.nb, n1-b0)
			ld := nb * cols // row stride of the batch's matrices
			col := t.scratch[part][:rows*ld]
			x := t.x[b0*inSize : (b0+nb)*inSize]
			y := t.y[b0*outSize : (b0+nb)*outSize]
			out := y // one image: its NCHW output is already Cout × (Ho·Wo)
			if nb > 1 {
				out = t.outs[part][:g.Cout*ld]
			}
			switch t.op {
			case convForward:
				for i := range nb {
					im2col(x[i*inSize:(i+1)*inSize], col[i*cols:], ld, t.tab.tap, g)
				}
				sgemm(false, false, g.Cout, ld, rows, 1, t.w, rows, col, ld, 0, out, ld)
				if nb > 1 {
					unbatch(y, out, nb, g.Cout, cols)
				}
			case convBackwardData:
				if nb > 1 {
					batch(out, y, nb, g.Cout, cols)
				}
				sgemm(true, false, rows, ld, g.Cout, 1, t.w, rows, out, ld, 0, col, ld)
				for i := range nb {
					col2im(col[i*cols:], ld, x[i*inSize:(i+1)*inSize], t.planes[part], t.tab.add, g)
				}
			case convBackwardFilter:
				if nb > 1 {
					batch(out, y, nb, g.Cout, cols)
				}
				for i := range nb {
					im2col(x[i*inSize:(i+1)*inSize], col[i*cols:], ld, t.tab.tap, g)
				}
				beta := float32(1)
				if b0 == n0 {
					beta = 0
				}
				sgemm(false, true, g.Cout, rows, ld, 1, out, ld, col, ld, beta, t.dw[part][:len(t.w)], rows)
			}
		}
	}
}

// batch copies nb NCHW images of c planes of s values (src) into the c × (nb·s)
// matrix dst, image i in columns [i·s, (i+1)·s); unbatch is its inverse.
func batch(dst, src []float32, nb, c, s int) {
	for i := range nb {
		for ch := range c {
			copy(dst[ch*nb*s+i*s:][:s], src[(i*c+ch)*s:][:s])
		}
	}
}

func unbatch(dst, src []float32, nb, c, s int) {
	for i := range nb {
		for ch := range c {
			copy(dst[(i*c+ch)*s:][:s], src[ch*nb*s+i*s:][:s])
		}
	}
}

// im2col unfolds one CHW image into the (Cin·K·K) × (Ho·Wo) matrix whose
// row r is col[r·ld:][:Ho·Wo], through the tap table.
func im2col(x, col []float32, ld int, tap []int32, g backend.ConvGeom) {
	hw, kk, n := g.H*g.W, g.K*g.K, g.OutH()*g.OutW()
	s2 := isS2(g)
	for ci := 0; ci < g.Cin; ci++ {
		plane := x[ci*hw : (ci+1)*hw]
		if s2 && vec.Unfold3x3s2(col[ci*kk*ld:], ld, plane, g.OutH(), g.OutW()) {
			continue
		}
		for t := 0; t < kk; t++ {
			vec.Gather(col[(ci*kk+t)*ld:][:n], plane, tap[t*n:(t+1)*n])
		}
	}
}

// col2im is the adjoint of im2col (same layout of col): it overwrites x
// with the sum of the column entries that each input pixel contributed to.
// The sums go to plane (H·W+1 values of scratch) through the table's add
// form, whose last slot takes the padding's entries.
func col2im(col []float32, ld int, x, plane []float32, add []int32, g backend.ConvGeom) {
	hw, kk, n := g.H*g.W, g.K*g.K, g.OutH()*g.OutW()
	plane = plane[:hw+1]
	s2 := isS2(g)
	for ci := 0; ci < g.Cin; ci++ {
		if s2 && vec.Fold3x3s2(x[ci*hw:(ci+1)*hw], col[ci*kk*ld:], ld, g.OutH(), g.OutW()) {
			continue
		}
		clear(plane)
		for t := 0; t < kk; t++ {
			scatterAdd(plane, col[(ci*kk+t)*ld:][:n], add[t*n:(t+1)*n])
		}
		copy(x[ci*hw:(ci+1)*hw], plane)
	}
}

// isS2 reports a 3×3 convolution with stride 2 and padding 1 of an image
// with even sides, the case vec.Unfold3x3s2 and vec.Fold3x3s2 handle.
func isS2(g backend.ConvGeom) bool {
	return g.K == 3 && g.Stride == 2 && g.Pad == 1 && g.H%2 == 0 && g.W%2 == 0
}

// scatterAdd adds src[j] to dst[idx[j]].
func scatterAdd(dst, src []float32, idx []int32) {
	idx = idx[:len(src)]
	for j, k := range idx {
		dst[k] += src[j]
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
