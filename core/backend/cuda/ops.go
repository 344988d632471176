package cuda

import (
	"fmt"
	"unsafe"

	"github.com/byol-lab/byol-lab/core/backend"
)

// The elementwise, pooling, normalisation and loss ops (kernels/ops.cuh).
// BatchNorm is in bn.go, the optimisers in optim.go.

var (
	kFill         = kernel("ops_fill")
	kReLU         = kernel("ops_relu")
	kReLUBackward = kernel("ops_relu_backward")
	kAdd          = kernel("ops_add")
	kEMA          = kernel("ops_ema")
	kAddBias      = kernel("ops_add_bias")
	kBiasGrad     = kernel("ops_bias_grad")
	kGAP          = kernel("ops_gap")
	kGAPSmall     = kernel("ops_gap_small")
	kGAPBackward  = kernel("ops_gap_backward")
	kL2Normalize  = kernel("ops_l2_normalize")
	kBYOLLoss     = kernel("ops_byol_loss")
	kSumSquares   = kernel("ops_sum_squares")
	opsBlock      = Dim3{opsThreads, 1, 1}
)

const (
	opsThreads = 256 // OPS_THREADS in ops.cuh
	opsWarps   = opsThreads / 32
	// opsMaxGrid caps grid-stride launches: 16 blocks of 256 threads per SM
	// of a 132-SM H100/H200, i.e. two full waves at 8 resident blocks.
	opsMaxGrid = 132 * 16
	// SumSquares' grid depends only on n, so its partials (and their sum)
	// replay exactly.
	sumSquaresGrid  = 1024
	sumSquaresChunk = 8 * opsThreads
)

// opsState is the ops kernels' host-side state (workspaces, cached tables).
type opsState struct {
	tables [segCacheSize]segTable // optimiser segment tables (optim.go)
	tick   uint64                 // LRU clock for tables
	part   []float32              // SumSquares' per-block partials, downloaded
	ticket *Buf                   // BYOLLoss' block counter; each call leaves it 0
}

// cdiv is ⌈a/b⌉ (gemm.go has its own ceilDiv; the files stay independent).
func cdiv(a, b int) int { return (a + b - 1) / b }

// elemGrid is the grid of a grid-stride kernel over n elements.
func elemGrid(n int) Dim3 { return Dim3{min(cdiv(n, opsThreads), opsMaxGrid), 1, 1} }

// warpGrid is the grid of a kernel that runs one warp per row or plane.
func warpGrid(rows int) Dim3 { return Dim3{min(cdiv(rows, opsWarps), 8*opsMaxGrid), 1, 1} }

func mustFit(op string, b backend.Buffer, n int) {
	if b.Len() < n {
		panic(fmt.Sprintf("cuda: %s: buffer of %d, need %d", op, b.Len(), n))
	}
}

func (c *CUDA) Fill(dst backend.Buffer, v float32) {
	n := dst.Len()
	if n == 0 {
		return
	}
	c.launch(kFill, elemGrid(n), opsBlock, P(dst), I(n), F(v))
}

func (c *CUDA) ReLU(x, y backend.Buffer, n int) {
	mustFit("ReLU", x, n)
	mustFit("ReLU", y, n)
	if n > 0 {
		c.launch(kReLU, elemGrid(n), opsBlock, P(x), P(y), I(n))
	}
}

func (c *CUDA) ReLUBackward(y, dy, dx backend.Buffer, n int) {
	mustFit("ReLUBackward", y, n)
	mustFit("ReLUBackward", dy, n)
	mustFit("ReLUBackward", dx, n)
	if n > 0 {
		c.launch(kReLUBackward, elemGrid(n), opsBlock, P(y), P(dy), P(dx), I(n))
	}
}

func (c *CUDA) Add(y, a, b backend.Buffer, n int) {
	mustFit("Add", y, n)
	mustFit("Add", a, n)
	mustFit("Add", b, n)
	if n > 0 {
		c.launch(kAdd, elemGrid(n), opsBlock, P(y), P(a), P(b), I(n))
	}
}

func (c *CUDA) EMA(target, online backend.Buffer, tau float32) {
	mustLen("EMA", target.Len(), online.Len())
	n := target.Len()
	if n > 0 {
		// 1−tau rounded here, as the CPU backend rounds it.
		c.launch(kEMA, elemGrid(n), opsBlock, P(target), P(online), I(n), F(tau), F(1-tau))
	}
}

func (c *CUDA) AddBias(y, bias backend.Buffer, rows, cols int) {
	mustFit("AddBias", y, rows*cols)
	mustFit("AddBias", bias, cols)
	if rows*cols > 0 {
		c.launch(kAddBias, elemGrid(rows*cols), opsBlock, P(y), P(bias), I(rows), I(cols))
	}
}

func (c *CUDA) BiasGrad(db, dy backend.Buffer, rows, cols int) {
	mustFit("BiasGrad", db, cols)
	mustFit("BiasGrad", dy, rows*cols)
	if cols > 0 {
		// 8 columns × 32 row-lanes per block (see ops_bias_grad).
		c.launch(kBiasGrad, Dim3{cdiv(cols, 8), 1, 1}, Dim3{8, 32, 1}, P(db), P(dy), I(rows), I(cols))
	}
}

func (c *CUDA) GlobalAvgPool(x, y backend.Buffer, n, ch, s int) {
	mustFit("GlobalAvgPool", x, n*ch*s)
	mustFit("GlobalAvgPool", y, n*ch)
	switch {
	case n*ch == 0:
	case s <= 32:
		c.launch(kGAPSmall, elemGrid(n*ch), opsBlock, P(x), P(y), I(n*ch), I(s), F(1/float32(s)))
	default:
		c.launch(kGAP, warpGrid(n*ch), opsBlock, P(x), P(y), I(n*ch), I(s), F(1/float32(s)))
	}
}

func (c *CUDA) GlobalAvgPoolBackward(dy, dx backend.Buffer, n, ch, s int) {
	mustFit("GlobalAvgPoolBackward", dy, n*ch)
	mustFit("GlobalAvgPoolBackward", dx, n*ch*s)
	if n*ch*s > 0 {
		c.launch(kGAPBackward, elemGrid(n*ch*s), opsBlock, P(dy), P(dx), I(n*ch), I(s), F(1/float32(s)))
	}
}

func (c *CUDA) L2Normalize(x, y backend.Buffer, rows, d int) {
	mustFit("L2Normalize", x, rows*d)
	mustFit("L2Normalize", y, rows*d)
	if rows > 0 {
		c.launch(kL2Normalize, Dim3{cdiv(rows, opsWarps), 1, 1}, opsBlock, P(x), P(y), I(rows), I(d))
	}
}

// BYOLLoss is one launch: one warp per row writes dp and each block's sum
// of (2 − 2cos); the last block to finish adds those sums in order.
func (c *CUDA) BYOLLoss(p, z, dp, loss backend.Buffer, rows, d, shift int, scale float32) {
	mustFit("BYOLLoss", p, rows*d)
	mustFit("BYOLLoss", z, rows*d)
	mustFit("BYOLLoss", dp, rows*d)
	mustFit("BYOLLoss", loss, 1)
	if rows == 0 {
		c.Fill(loss.Slice(0, 1), 0)
		return
	}
	shift %= rows
	if shift < 0 {
		shift += rows
	}
	if c.ops.ticket == nil {
		c.ops.ticket = c.Alloc(1).(*Buf) // zero, as an unsigned counter too
	}
	blocks := cdiv(rows, opsWarps)
	part := c.scratchBuf(blocks)
	c.launch(kBYOLLoss, Dim3{blocks, 1, 1}, opsBlock, P(p), P(z), P(dp), P(part), P(c.ops.ticket), P(loss),
		I(rows), I(d), I(shift), F(scale))
}

// SumSquares is one launch of per-block partial sums over a grid fixed by n;
// the host adds the partials in order, in float64.
func (c *CUDA) SumSquares(x backend.Buffer) float32 {
	n := x.Len()
	if n == 0 {
		return 0
	}
	grid := min(cdiv(n, sumSquaresChunk), sumSquaresGrid)
	part := c.scratchBuf(grid)
	c.launch(kSumSquares, Dim3{grid, 1, 1}, opsBlock, P(x), I(n), P(part))
	if c.ops.part == nil {
		c.ops.part = make([]float32, sumSquaresGrid)
	}
	h := c.ops.part[:grid]
	c.d.DtoH(unsafe.Pointer(&h[0]), part.ptr, 4*grid)
	if err := c.d.Err(); err != nil {
		panic(fmt.Sprintf("cuda: %v", err))
	}
	var s float64
	for _, v := range h {
		s += float64(v)
	}
	return float32(s)
}
