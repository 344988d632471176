package cuda

import (
	"fmt"
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
)

// gemmTile is one block-tile shape of the GEMM kernels (kernels/gemm.cuh),
// with its four transpose entries (nn, nt, tn, tt).
type gemmTile struct {
	bm, bn  int
	threads int
	perSM   int     // blocks resident per SM (registers and launch bounds)
	rate    float64 // GFLOP/s with every SM full: 4096³ on an H200
	k       [4]kid
	conv    [3]kid // the implicit convolutions on this tile (conv.go)
}

// gemmKernels registers tile name's GEMM entries (sgemm_NAME_nn, …) and
// its implicit convolutions (conv_fwd_NAME, …).
func gemmKernels(name string, bm, bn, threads, perSM int, rate float64) gemmTile {
	t := gemmTile{bm: bm, bn: bn, threads: threads, perSM: perSM, rate: rate}
	for i, s := range [4]string{"nn", "nt", "tn", "tt"} {
		t.k[i] = kernel("sgemm_" + name + "_" + s)
	}
	for i, op := range [3]string{"conv_fwd", "conv_bwd_filter", "conv_bwd_data"} {
		t.conv[i] = kernel(op + "_" + name)
	}
	return t
}

var (
	tile128   = gemmKernels("128x128", 128, 128, 256, 2, 42000)
	tile64    = gemmKernels("64x64", 64, 64, 64, 6, 36000)
	tile32    = gemmKernels("32x128", 32, 128, 64, 6, 35000)
	tileTF128 = gemmKernels("tf32_128x128", 128, 128, 256, 2, 103000)
	tileTF64  = gemmKernels("tf32_64x64", 64, 64, 128, 4, 71000)

	fp32Tiles = []*gemmTile{&tile128, &tile64, &tile32}
	tf32Tiles = []*gemmTile{&tileTF128, &tileTF64, &tile32}

	kSplitKReduce = kernel("gemm_splitk_reduce")
)

// Tiling choices.
const (
	// gemmDefaultSMs plans for an H100 or H200 (132 SMs) where the driver
	// does not count them (the emulator), so its plans are the GPU's.
	gemmDefaultSMs = 132
	// gemmMinKChunk keeps each split-K slice long enough (32 slices of 8)
	// that the partials' extra traffic stays small next to the slice's work.
	gemmMinKChunk = 256
	gemmMaxSplits = 64
	// What a split costs besides its arithmetic: the partials written and
	// read back at about HBM speed (bytes/s), and one more launch (s).
	gemmSplitBandwidth = 2.5e12
	gemmSplitLaunch    = 4e-6
	// A block's prologue and epilogue cost about as much as this many more
	// k steps.
	gemmBlockOverheadK = 32
	// Vector-access flags, as in gemm.cuh.
	gemmVecA = 1
	gemmVecB = 2
	gemmVecC = 4
)

// gemmState holds the split-K workspace and the TF32 switch.
type gemmState struct {
	tf32 bool
	sms  int  // the GPU's streaming multiprocessors
	work *Buf // split-K partial products, grown on demand

	// Tests pin the tile and the split count to reach every kernel with
	// small inputs (export_test.go); nil and 0 choose by shape.
	forceTile   *gemmTile
	forceSplits int
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
	if m < 0 || n < 0 || k < 0 || batch < 0 || batch > 65535 { // batch is grid.z
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

// gemmPlan chooses the block tile and split-K factor with the least
// estimated time. The estimate is the padded tile work at each tile's
// full-SM rate, divided by how full the grid's waves are (blocks over
// slots, rounded up to whole waves), plus the split-K reduction. A 64-row
// output wastes half a 128×128 tile; 128 blocks of it leave the second
// slot of every SM empty, which a 2-way split fills; a filter gradient's
// 64×576 output with k in the millions needs dozens of splits. Fitted to
// H200 timings of the model's shapes (see gemm_bench_test.go).
func (c *CUDA) gemmPlan(op *gemmOp) (t *gemmTile, splits, kchunk int) {
	if c.gemm.forceTile != nil || c.gemm.forceSplits > 0 {
		t = c.gemm.forceTile
		if t == nil {
			t = &tile64
		}
		s := max(c.gemm.forceSplits, 1)
		kchunk = max(op.k, 1)
		if s > 1 && op.k > 16 {
			// Slices are whole multiples of 16, the TF32 kernel's k step.
			kchunk = ceilDiv(ceilDiv(op.k, s), 16) * 16
		}
		return t, ceilDiv(max(op.k, 1), kchunk), kchunk
	}
	tiles := fp32Tiles
	if c.gemm.tf32 && op.k >= 64 {
		// Below that the product is bound by memory, and fp32 is exact.
		tiles = tf32Tiles
	}
	best := math.Inf(1)
	maxSplits := max(1, min(op.k/gemmMinKChunk, gemmMaxSplits, 65535/op.batch))
	for _, cand := range tiles {
		tm, tn := ceilDiv(op.m, cand.bm), ceilDiv(op.n, cand.bn)
		padded := 2 * float64(tm*cand.bm) * float64(tn*cand.bn) * float64(op.batch)
		slots := c.gemm.sms * cand.perSM
		for s := 1; s <= maxSplits; s++ {
			kc := max(op.k, 1)
			if s > 1 {
				kc = ceilDiv(ceilDiv(op.k, s), 16) * 16
				if ceilDiv(op.k, kc) != s {
					continue // the same slices as a smaller s
				}
			}
			blocks := tm * tn * op.batch * s
			util := float64(blocks) / float64(ceilDiv(blocks, slots)*slots)
			est := padded * float64(s) * float64(kc+gemmBlockOverheadK) / (cand.rate * 1e9 * util)
			if s > 1 {
				est += float64((s+1)*op.m*op.n*op.batch*4)/gemmSplitBandwidth + gemmSplitLaunch
			}
			if est < best {
				best, t, splits, kchunk = est, cand, s, kc
			}
		}
	}
	return t, splits, kchunk
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (c *CUDA) gemmRun(op *gemmOp) {
	if op.m == 0 || op.n == 0 || op.batch == 0 {
		return
	}
	t, splits, kchunk := c.gemmPlan(op)
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
	work := c.grow(&c.gemm.work, op.batch*splits*mn)
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
