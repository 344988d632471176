package cuda

import (
	"fmt"

	"github.com/byol-lab/byol-lab/core/backend"
)

// gemmTile is one block-tile shape of the GEMM kernels (kernels/gemm.cuh),
// with its four transpose entries indexed by gemmTrans.
type gemmTile struct {
	bm, bn  int
	threads int
	perSM   int // blocks resident per SM (registers and launch bounds)
	k       [4]kid
}

func gemmKernels(name string, bm, bn, threads, perSM int) gemmTile {
	t := gemmTile{bm: bm, bn: bn, threads: threads, perSM: perSM}
	for i, s := range [4]string{"nn", "nt", "tn", "tt"} {
		t.k[i] = kernel(name + "_" + s)
	}
	return t
}

var (
	tile128   = gemmKernels("sgemm_128x128", 128, 128, 256, 2)
	tile64    = gemmKernels("sgemm_64x64", 64, 64, 64, 8)
	tile32    = gemmKernels("sgemm_32x128", 32, 128, 64, 8)
	tileTF128 = gemmKernels("sgemm_tf32_128x128", 128, 128, 256, 2)
	tileTF64  = gemmKernels("sgemm_tf32_64x64", 64, 64, 128, 4)

	kSplitKReduce = kernel("gemm_splitk_reduce")
)

// Tiling choices. The H100 and H200 have 132 SMs; the Driver does not
// report a count, and on smaller GPUs the same choices only mean more
// waves.
const (
	gemmSMs = 132
	// gemmMinKChunk keeps each split-K slice long enough (32 slices of 8)
	// that the partials' extra traffic stays small next to the slice's work.
	gemmMinKChunk = 256
	gemmMaxSplits = 64
	// Vector-access flags, as in gemm.cuh.
	gemmVecA = 1
	gemmVecB = 2
	gemmVecC = 4
)

// gemmState holds the split-K workspace and the TF32 switch.
type gemmState struct {
	tf32 bool
	work *Buf // split-K partial products, grown on demand
}

// SetTF32 switches Gemm (and the convolutions built on it) to the TF32
// tensor-core kernels: about 10 bits of mantissa in each product, fp32
// accumulation. Off by default, which keeps fp32 semantics.
func (c *CUDA) SetTF32(on bool) { c.gemm.tf32 = on }

// TF32 reports whether the TF32 kernels are on.
func (c *CUDA) TF32() bool { return c.gemm.tf32 }

// gemmOp is one strided-batch product in device addresses: for each of
// batch problems, C = alpha·op(A)·op(B) + beta·C with row-major operands.
// C's columns may be scattered in groups (cg, cgs: see gemm.cuh).
type gemmOp struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        Ptr
	lda, ldb, ldc  int
	sa, sb, sc     int // element strides between batch entries
	batch          int
	cg, cgs        int // column groups of C; cg = 0: plain rows
}

func (c *CUDA) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b backend.Buffer, beta float32, cc backend.Buffer) {
	c.GemmBatched(transA, transB, m, n, k, alpha, a, 0, b, 0, beta, cc, 0, 1)
}

// GemmBatched runs batch products C_i = alpha·op(A_i)·op(B_i) + beta·C_i,
// where X_i starts strideX elements after X_{i−1} (a stride of 0 shares one
// matrix across the batch).
func (c *CUDA) GemmBatched(transA, transB bool, m, n, k int, alpha float32, a backend.Buffer, strideA int,
	b backend.Buffer, strideB int, beta float32, cc backend.Buffer, strideC int, batch int) {
	if m < 0 || n < 0 || k < 0 || batch < 0 {
		panic(fmt.Sprintf("cuda: Gemm with m=%d n=%d k=%d batch=%d", m, n, k, batch))
	}
	ab, bb, cb := a.(*Buf), b.(*Buf), cc.(*Buf)
	if batch > 0 {
		need := func(name string, buf *Buf, rows, cols, stride int) {
			if rows*cols > 0 && (batch-1)*stride+rows*cols > buf.n {
				panic(fmt.Sprintf("cuda: Gemm: %s holds %d floats, needs %d", name, buf.n, (batch-1)*stride+rows*cols))
			}
		}
		need("A", ab, m, k, strideA)
		need("B", bb, k, n, strideB)
		need("C", cb, m, n, strideC)
	}
	c.gemmRun(&gemmOp{
		transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: ab.ptr, b: bb.ptr, c: cb.ptr,
		lda: ld(transA, m, k), ldb: ld(transB, k, n), ldc: n,
		sa: strideA, sb: strideB, sc: strideC, batch: batch,
	})
}

// ld is the leading dimension of a packed row-major operand that is
// rows×cols after op(): stored transposed it has rows columns.
func ld(trans bool, rows, cols int) int {
	if trans {
		return rows
	}
	return cols
}

// pickTile chooses the block tile: the largest whose grid still gives each
// SM its resident blocks; failing that the 64×64 tile, whose blocks are a
// quarter of the size, and split-K makes up the rest.
func (c *CUDA) pickTile(op *gemmOp) *gemmTile {
	big, small := &tile128, &tile64
	if c.gemm.tf32 {
		big, small = &tileTF128, &tileTF64
	} else if op.m <= 32 {
		return &tile32
	}
	if gemmBlocks(big, op) >= gemmSMs*big.perSM {
		return big
	}
	return small
}

func gemmBlocks(t *gemmTile, op *gemmOp) int {
	return ceilDiv(op.m, t.bm) * ceilDiv(op.n, t.bn) * op.batch
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gemmSplits picks the split-K factor and the k slice per split: enough
// splits to occupy every SM's resident blocks when the output alone gives
// too few (a conv filter gradient: 64×576 outputs, k in the millions), but
// never slices shorter than gemmMinKChunk.
func gemmSplits(t *gemmTile, op *gemmOp) (splits, kchunk int) {
	blocks := gemmBlocks(t, op)
	want := ceilDiv(gemmSMs*t.perSM, blocks)
	splits = max(1, min(want, op.k/gemmMinKChunk, gemmMaxSplits, 65535/max(op.batch, 1)))
	if splits == 1 {
		return 1, max(op.k, 1)
	}
	// Slices are whole multiples of 16, the TF32 kernel's k step.
	kchunk = ceilDiv(ceilDiv(op.k, splits), 16) * 16
	return ceilDiv(op.k, kchunk), kchunk
}

func (c *CUDA) gemmRun(op *gemmOp) {
	if op.m == 0 || op.n == 0 || op.batch == 0 {
		return
	}
	t := c.pickTile(op)
	splits, kchunk := gemmSplits(t, op)
	trans := 0
	if op.transB {
		trans |= 1
	}
	if op.transA {
		trans |= 2
	}

	flags := 0
	if vecOK(op.a, op.lda, op.sa, op.batch) {
		flags |= gemmVecA
	}
	if vecOK(op.b, op.ldb, op.sb, op.batch) {
		flags |= gemmVecB
	}
	grid := Dim3{ceilDiv(op.n, t.bn), ceilDiv(op.m, t.bm), op.batch * splits}
	block := Dim3{t.threads, 1, 1}
	if splits == 1 {
		if vecOK(op.c, op.ldc, op.sc, op.batch) && op.cg%4 == 0 && op.cgs%4 == 0 {
			flags |= gemmVecC
		}
		c.launch(t.k[trans], grid, block,
			U(uint64(op.a)), U(uint64(op.b)), U(uint64(op.c)), I(op.m), I(op.n), I(op.k),
			I(op.lda), I(op.ldb), I(op.ldc), i64(op.sa), i64(op.sb), i64(op.sc), I(op.cg), i64(op.cgs),
			F(op.alpha), F(op.beta), I(kchunk), I(1), I(flags))
		return
	}

	// Split-K: plain partial products into the workspace, then one
	// fixed-order reduction that applies alpha and beta.
	mn := op.m * op.n
	work := c.gemmWork(op.batch * splits * mn)
	if op.n%4 == 0 {
		flags |= gemmVecC
	}
	c.launch(t.k[trans], grid, block,
		U(uint64(op.a)), U(uint64(op.b)), U(uint64(work.ptr)), I(op.m), I(op.n), I(op.k),
		I(op.lda), I(op.ldb), I(op.n), i64(op.sa), i64(op.sb), i64(mn), I(0), i64(0),
		F(1), F(0), I(kchunk), I(splits), I(flags))
	c.launch1D(kSplitKReduce, op.batch*mn, 256,
		U(uint64(work.ptr)), U(uint64(op.c)), I(op.m), I(op.n), I(op.ldc), i64(op.sc), I(op.cg), i64(op.cgs),
		I(splits), I(op.batch), F(op.alpha), F(op.beta))
}

// vecOK says whether 16-byte accesses to a matrix at p with leading
// dimension ld (and batch stride s) stay aligned.
func vecOK(p Ptr, ld, s, batch int) bool {
	return p%16 == 0 && ld%4 == 0 && (batch <= 1 || s%4 == 0)
}

// i64 passes a long long argument.
func i64(v int) uint64 { return uint64(int64(v)) }

func (c *CUDA) gemmWork(n int) *Buf {
	if c.gemm.work == nil || c.gemm.work.n < n {
		c.gemm.work = c.Alloc(n).(*Buf)
	}
	return c.gemm.work
}
