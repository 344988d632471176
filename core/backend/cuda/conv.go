package cuda

import (
	"fmt"

	"github.com/byol-lab/byol-lab/core/backend"
)

// Convolution is im2col + one GEMM per chunk of images (kernels/conv.cuh):
// the column matrix of a whole chunk, col[Cin·K·K][nb·Ho·Wo], makes the
// GEMM's N dimension large even for the last, 4×4 stages.
//
//   - forward: y = W·col, stored straight into NCHW by the GEMM (column
//     groups of Ho·Wo, one per image);
//   - backward data: dcol = Wᵀ·dy', then col2im gathers it into dx;
//   - backward filter: dw = dy'·colᵀ, split-K over the long k = nb·Ho·Wo,
//     accumulated over chunks with beta = 1;
//
// where dy' is dy transposed to channel-major [Cout][nb·Ho·Wo].

var (
	kIm2col   = kernel("conv_im2col")
	kCol2im   = kernel("conv_col2im")
	kNCHWToCM = kernel("conv_nchw_to_cm")
)

// convWorkFloats bounds the workspace (1 GiB): resnet18 at a batch of 1024
// would need 600M floats of columns for one 64-channel layer, so larger
// batches run in chunks of images.
const convWorkFloats = 1 << 28

// convState owns the convolution workspaces, grown on demand and reused.
type convState struct {
	col *Buf // im2col columns of one chunk
	dyT *Buf // dy of one chunk, channel-major

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

// grow returns *b with room for n floats, reallocating only to grow.
func (c *CUDA) grow(b **Buf, n int) *Buf {
	if *b == nil || (*b).n < n {
		*b = c.Alloc(n).(*Buf)
	}
	return *b
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

// im2col unfolds images [n0, n0+nb) of x into col.
func (c *CUDA) im2col(x Ptr, col *Buf, g backend.ConvGeom, nb int) {
	ho, wo := g.OutH(), g.OutW()
	c.launch(kIm2col, Dim3{ceilDiv(nb*ho*wo, 256), g.Cin * g.K * g.K, 1}, Dim3{256, 1, 1},
		U(uint64(x)), P(col), I(nb), I(g.Cin), I(g.H), I(g.W), I(g.K), I(g.Stride), I(g.Pad), I(ho), I(wo))
}

func (c *CUDA) Conv2d(x, w, y backend.Buffer, g backend.ConvGeom) {
	convCheck("Conv2d", g, x, w, y)
	ho, wo := g.OutH(), g.OutW()
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
	c.launch1D(kNCHWToCM, cnt*g.Cout*plane, 256,
		U(uint64(dy+Ptr(4*n0*g.Cout*plane))), P(dyT), I(cnt), I(g.Cout), I(plane))
	return dyT
}

func (c *CUDA) Conv2dBackwardData(dy, w, dx backend.Buffer, g backend.ConvGeom) {
	convCheck("Conv2dBackwardData", g, dx, w, dy)
	ho, wo := g.OutH(), g.OutW()
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
		c.launch1D(kCol2im, cnt*g.Cin*g.H*g.W, 256,
			P(col), U(uint64(dxp+Ptr(4*n0*g.Cin*g.H*g.W))), I(cnt), I(g.Cin), I(g.H), I(g.W), I(g.K), I(g.Stride),
			I(g.Pad), I(ho), I(wo))
	}
}

func (c *CUDA) Conv2dBackwardFilter(x, dy, dw backend.Buffer, g backend.ConvGeom) {
	convCheck("Conv2dBackwardFilter", g, x, dw, dy)
	ho, wo := g.OutH(), g.OutW()
	plane, rows := ho*wo, g.Cin*g.K*g.K
	if g.N == 0 {
		c.Fill(dw, 0)
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
