package cuda

import (
	"fmt"
	"time"

	"github.com/byol-lab/byol-lab/core/backend"
)

// Convolutions run one of three ways (ConvAlgo, convalgo.go):
//
// im2col + one GEMM per chunk of images (kernels/conv.cuh): the column
// matrix of a whole chunk, col[Cin·K·K][nb·Ho·Wo], makes the GEMM's N
// dimension large even for the last, 4×4 stages.
//
//   - forward: y = W·col, stored straight into NCHW by the GEMM (column
//     groups of Ho·Wo, one per image);
//   - backward data: dcol = Wᵀ·dy', then col2im gathers it into dx;
//   - backward filter: dw = dy'·colᵀ, split-K over the long k = nb·Ho·Wo,
//     accumulated over chunks with beta = 1;
//
// where dy' is dy transposed to channel-major [Cout][nb·Ho·Wo].
//
// implicit GEMM: the same products, with tile loaders that read x and dy
// where they lie (conv.cuh), so the column matrix is never written or read
// back and the whole batch is one launch. It needs output rows of a
// multiple of 4 pixels (input rows for backward data, which it runs only
// at stride 1, where no product is wasted on the zeros between strided
// pixels); other convolutions take the im2col path.
//
// Winograd F(2×2, 3×3) or F(4×4, 3×3) (winograd.go) for 3×3 stride-1
// layers with at least 16 channels in and out, the implicit GEMM for
// everything else it can run, im2col for the rest.

var (
	kIm2col   = kernel("conv_im2col")
	kCol2im   = kernel("conv_col2im")
	kNCHWToCM = kernel("conv_nchw_to_cm")
	kWT       = kernel("conv_w_transpose")
)

// The implicit convolutions, in the order of gemmTile.conv.
const (
	convFwd = iota
	convBwdFilter
	convBwdData
)

// convWorkFloats bounds the workspace (1 GiB): resnet18 at a batch of 1024
// would need 600M floats of columns for one 64-channel layer, so larger
// batches run in chunks of images.
const convWorkFloats = 1 << 28

// convState owns the convolution workspaces, grown on demand and reused.
type convState struct {
	algo  ConvAlgo
	auto  map[convKey]*convChoice // ConvAuto's choices (convalgo.go)
	clock func() time.Time        // times ConvAuto's trials without events; nil is time.Now (tests fake it)
	col   *Buf                    // im2col columns of one chunk
	dyT   *Buf                    // dy of one chunk, channel-major
	wT    *Buf                    // the filters as Ŵ[ci][co·K·K] for implicit backward data

	limit int // workspace bound in floats; 0 is convWorkFloats (tests shrink it)
}

// chunk returns how many images go into one chunk when each image needs
// perImage floats of workspace, evened out over the chunks.
func (s *convState) chunk(n, perImage int) int {
	if n <= 0 {
		return 1
	}
	limit := s.limit
	if limit == 0 {
		limit = convWorkFloats
	}
	nb := max(1, min(n, limit/max(perImage, 1)))
	chunks := ceilDiv(n, nb)
	return ceilDiv(n, chunks)
}

func convCheck(op string, g backend.ConvGeom, x, w, y backend.Buffer) {
	if g.N < 0 || g.Cin <= 0 || g.Cout <= 0 || g.K <= 0 || g.Stride <= 0 || g.Pad < 0 || g.OutH() <= 0 || g.OutW() <= 0 {
		panic(fmt.Sprintf("cuda: %s: bad geometry %+v", op, g))
	}
	if g.Cin*g.K*g.K > 65535 { // im2col's grid.y is the column row
		panic(fmt.Sprintf("cuda: %s: Cin·K·K = %d over 65535", op, g.Cin*g.K*g.K))
	}
	convLen(op, "x", x.Len(), g.N*g.Cin*g.H*g.W)
	convLen(op, "w", w.Len(), g.Cout*g.Cin*g.K*g.K)
	convLen(op, "y", y.Len(), g.N*g.Cout*g.OutH()*g.OutW())
}

// convLen builds its message only on failure: a call must not allocate.
func convLen(op, name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("cuda: %s: %s holds %d floats, want %d", op, name, got, want))
	}
}

// quadGrid is the grid of conv.cuh's im2col-path kernels: a thread per
// four consecutive pixels of a row (nb images of h rows of w pixels), a
// grid row per channel.
func quadGrid(nb, h, w, channels int) Dim3 {
	quads := int64(nb) * int64(h) * int64(ceilDiv(w, 4))
	if quads >= 1<<31 {
		panic(fmt.Sprintf("cuda: convolution: %d images of %d×%d pixels: a chunk over 2³¹ groups of four", nb, h, w))
	}
	return Dim3{ceilDiv(int(quads), 256), channels, 1}
}

// vec4 is the vec argument of those kernels: rows of a multiple of 4
// floats starting at 16-byte aligned addresses on both sides.
func vec4(w int, a, b Ptr) int {
	if w%4 == 0 && a%16 == 0 && b%16 == 0 {
		return 1
	}
	return 0
}

// im2col unfolds images [n0, n0+nb) of x into col.
func (c *CUDA) im2col(x Ptr, col *Buf, g backend.ConvGeom, nb int) {
	ho, wo := g.OutH(), g.OutW()
	c.launch(kIm2col, quadGrid(nb, ho, wo, g.Cin), Dim3{256, 1, 1},
		U(uint64(x)), P(col), I(nb), I(g.Cin), I(g.H), I(g.W), I(g.K), I(g.Stride), I(g.Pad), I(ho), I(wo),
		I(vec4(wo, col.ptr, col.ptr)))
}

func (c *CUDA) Conv2d(x, w, y backend.Buffer, g backend.ConvGeom) {
	convCheck("Conv2d", g, x, w, y)
	c.runConv(convFwd, c.algoFor(convFwd, g, x, w, y), x, w, y, g)
}

func (c *CUDA) conv2d(a ConvAlgo, x, w, y backend.Buffer, g backend.ConvGeom) {
	ho, wo := g.OutH(), g.OutW()
	if k := winoFor(a, g); k != nil {
		c.convWinograd(k, x.(*Buf).ptr, w.(*Buf).ptr, y.(*Buf).ptr, g, false)
		return
	}
	if a != ConvIm2col && implicitFits(convFwd, g) {
		c.convImplicit(&convOp{kind: convFwd, g: g, a: w.(*Buf).ptr, b: x.(*Buf).ptr, c: y.(*Buf).ptr})
		return
	}
	plane, rows := ho*wo, g.Cin*g.K*g.K
	nb := c.conv.chunk(g.N, rows*plane)
	col := c.grow(&c.conv.col, rows*nb*plane)
	xp, wp, yp := x.(*Buf).ptr, w.(*Buf).ptr, y.(*Buf).ptr
	for n0 := 0; n0 < g.N; n0 += nb {
		cnt := min(nb, g.N-n0)
		c.im2col(xp+Ptr(4*n0*g.Cin*g.H*g.W), col, g, cnt)
		c.gemmRun(&gemmOp{
			m: g.Cout, n: cnt * plane, k: rows, alpha: 1,
			a: wp, b: col.ptr, c: yp + Ptr(4*n0*g.Cout*plane),
			lda: rows, ldb: cnt * plane, ldc: plane, batch: 1,
			cg: plane, cgs: g.Cout * plane,
		})
	}
}

// dyToCM transposes images [n0, n0+cnt) of dy into c.conv.dyT.
func (c *CUDA) dyToCM(dy Ptr, g backend.ConvGeom, n0, cnt int) *Buf {
	plane := g.OutH() * g.OutW()
	dyT := c.conv.dyT
	src := dy + Ptr(4*n0*g.Cout*plane)
	c.launch(kNCHWToCM, quadGrid(cnt, 1, plane, g.Cout), Dim3{256, 1, 1},
		U(uint64(src)), P(dyT), I(cnt), I(g.Cout), I(plane), I(vec4(plane, src, dyT.ptr)))
	return dyT
}

func (c *CUDA) Conv2dBackwardData(dy, w, dx backend.Buffer, g backend.ConvGeom) {
	convCheck("Conv2dBackwardData", g, dx, w, dy)
	c.runConv(convBwdData, c.algoFor(convBwdData, g, dy, w, dx), dy, w, dx, g)
}

func (c *CUDA) conv2dBackwardData(a ConvAlgo, dy, w, dx backend.Buffer, g backend.ConvGeom) {
	ho, wo := g.OutH(), g.OutW()
	if k := winoFor(a, g); k != nil {
		c.convWinograd(k, dy.(*Buf).ptr, w.(*Buf).ptr, dx.(*Buf).ptr, g, true)
		return
	}
	if a != ConvIm2col && implicitFits(convBwdData, g) {
		kk := g.K * g.K
		wT := c.grow(&c.conv.wT, g.Cout*g.Cin*kk)
		c.launch1D(kWT, g.Cout*g.Cin*kk, 256, P(w), P(wT), I(g.Cout), I(g.Cin), I(kk))
		c.convImplicit(&convOp{kind: convBwdData, g: g, a: wT.ptr, b: dy.(*Buf).ptr, c: dx.(*Buf).ptr})
		return
	}
	plane, rows := ho*wo, g.Cin*g.K*g.K
	nb := c.conv.chunk(g.N, (rows+g.Cout)*plane)
	col := c.grow(&c.conv.col, rows*nb*plane)
	c.grow(&c.conv.dyT, g.Cout*nb*plane)
	dyp, wp, dxp := dy.(*Buf).ptr, w.(*Buf).ptr, dx.(*Buf).ptr
	for n0 := 0; n0 < g.N; n0 += nb {
		cnt := min(nb, g.N-n0)
		dyT := c.dyToCM(dyp, g, n0, cnt)
		c.gemmRun(&gemmOp{
			transA: true, m: rows, n: cnt * plane, k: g.Cout, alpha: 1,
			a: wp, b: dyT.ptr, c: col.ptr,
			lda: rows, ldb: cnt * plane, ldc: cnt * plane, batch: 1,
		})
		dst := dxp + Ptr(4*n0*g.Cin*g.H*g.W)
		c.launch(kCol2im, quadGrid(cnt, g.H, g.W, g.Cin), Dim3{256, 1, 1},
			P(col), U(uint64(dst)), I(cnt), I(g.Cin), I(g.H), I(g.W), I(g.K), I(g.Stride),
			I(g.Pad), I(ho), I(wo), I(vec4(g.W, dst, dst)))
	}
}

func (c *CUDA) Conv2dBackwardFilter(x, dy, dw backend.Buffer, g backend.ConvGeom) {
	convCheck("Conv2dBackwardFilter", g, x, dw, dy)
	if g.N == 0 {
		c.Fill(dw, 0)
		return
	}
	c.runConv(convBwdFilter, c.algoFor(convBwdFilter, g, x, dy, dw), x, dy, dw, g)
}

func (c *CUDA) conv2dBackwardFilter(a ConvAlgo, x, dy, dw backend.Buffer, g backend.ConvGeom) {
	ho, wo := g.OutH(), g.OutW()
	plane, rows := ho*wo, g.Cin*g.K*g.K
	if k := winoFor(a, g); k != nil {
		c.convWinogradFilter(k, x.(*Buf).ptr, dy.(*Buf).ptr, dw.(*Buf).ptr, g)
		return
	}
	if a != ConvIm2col && implicitFits(convBwdFilter, g) {
		c.convImplicit(&convOp{kind: convBwdFilter, g: g, a: dy.(*Buf).ptr, b: x.(*Buf).ptr, c: dw.(*Buf).ptr})
		return
	}
	nb := c.conv.chunk(g.N, (rows+g.Cout)*plane)
	col := c.grow(&c.conv.col, rows*nb*plane)
	c.grow(&c.conv.dyT, g.Cout*nb*plane)
	xp, dyp, dwp := x.(*Buf).ptr, dy.(*Buf).ptr, dw.(*Buf).ptr
	for n0 := 0; n0 < g.N; n0 += nb {
		cnt := min(nb, g.N-n0)
		c.im2col(xp+Ptr(4*n0*g.Cin*g.H*g.W), col, g, cnt)
		dyT := c.dyToCM(dyp, g, n0, cnt)
		beta := float32(1)
		if n0 == 0 {
			beta = 0
		}
		c.gemmRun(&gemmOp{
			transB: true, m: g.Cout, n: rows, k: cnt * plane, alpha: 1, beta: beta,
			a: dyT.ptr, b: col.ptr, c: dwp,
			lda: cnt * plane, ldb: cnt * plane, ldc: rows, batch: 1,
		})
	}
}

// implicitFits says whether op can run g as an implicit GEMM: each slot's
// four pixels lie in one row (conv.cuh), and the loaders' offsets fit.
func implicitFits(op int, g backend.ConvGeom) bool {
	if g.N == 0 {
		return false
	}
	if int64(g.N)*int64(max(g.Cin, g.Cout))*int64(g.H*g.W+g.OutH()*g.OutW()) >= 1<<31 {
		return false // j and i are int on the device
	}
	if op == convBwdData {
		// Cout·K·K rows split by small_div, exact below 2²².
		return g.Stride == 1 && g.W%4 == 0 && g.Cout*g.K*g.K < 1<<22
	}
	return g.OutW()%4 == 0
}

// convOp is one implicit convolution: A and B as conv.cuh's entries take
// them (see Conv2d and the backward passes).
type convOp struct {
	kind    int
	g       backend.ConvGeom
	a, b, c Ptr
}

// convImplicit plans an implicit convolution like the GEMM it is and
// launches it, through a split-K workspace where the plan splits k.
func (c *CUDA) convImplicit(op *convOp) {
	g := op.g
	ho, wo := g.OutH(), g.OutW()
	rows := g.Cin * g.K * g.K
	gm := gemmOp{alpha: 1, batch: 1}
	switch op.kind {
	case convFwd: // y[co][img·Ho·Wo], stored into NCHW
		gm.m, gm.n, gm.k = g.Cout, g.N*ho*wo, rows
		gm.ldc, gm.cg, gm.cgs = ho*wo, ho*wo, g.Cout*ho*wo
		gm.lda = rows
	case convBwdFilter: // dw[co][r]
		gm.m, gm.n, gm.k = g.Cout, rows, g.N*ho*wo
		gm.ldc = rows
		gm.lda = 4 // dy is read 4 pixels at a time; vecOK checks its alignment
	case convBwdData: // dx[ci][img·H·W], stored into NCHW
		gm.m, gm.n, gm.k = g.Cin, g.N*g.H*g.W, g.Cout*g.K*g.K
		gm.ldc, gm.cg, gm.cgs = g.H*g.W, g.H*g.W, g.Cin*g.H*g.W
		gm.lda = gm.k
	}
	t, splits, kchunk := c.gemmPlan(&gm)
	flags := 0
	if vecOK(op.a, gm.lda, 0, 1) {
		flags |= gemmVecA
	}
	grid := Dim3{ceilDiv(gm.n, t.bn), ceilDiv(gm.m, t.bm), splits}
	block := Dim3{t.threads, 1, 1}
	out, ldc, cg, cgs := op.c, gm.ldc, gm.cg, gm.cgs
	if splits > 1 {
		out, ldc, cg, cgs = c.grow(&c.gemm.work, splits*gm.m*gm.n).ptr, gm.n, 0, 0
	}
	if vecOK(out, ldc, 0, 1) && cg%4 == 0 && cgs%4 == 0 {
		flags |= gemmVecC
	}
	c.launch(t.conv[op.kind], grid, block,
		U(uint64(op.a)), U(uint64(op.b)), U(uint64(out)), I(g.N), I(g.Cin), I(g.H), I(g.W), I(g.Cout), I(g.K),
		I(g.Stride), I(g.Pad), I(ho), I(wo), I(ldc), I(cg), i64(cgs), F(1), F(0), I(kchunk), I(splits), I(flags))
	if splits > 1 {
		c.launch1D(kSplitKReduce, gm.m*gm.n, 256,
			U(uint64(out)), U(uint64(op.c)), I(gm.m), I(gm.n), I(gm.ldc), i64(0), I(gm.cg), i64(gm.cgs),
			I(splits), I(1), F(1), F(0))
	}
}
