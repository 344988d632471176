package cuda

import (
	"fmt"

	"github.com/byol-lab/byol-lab/core/backend"
)

// SimCLR's NT-Xent loss (kernels/contrastive.cuh): the rows×rows
// similarities and the gradient's two products are GEMMs; small kernels do
// the row softmax, the step back through the normalisation and the sum.

var (
	kNCESoftmax = kernel("nce_softmax")
	kNCEGrad    = kernel("nce_grad")
	kNCELossSum = kernel("nce_loss_sum")
)

// nceState is InfoNCELoss's workspace: u (rows×d), the logits and then
// their gradient (rows×rows) and the per-row terms, in one allocation whose
// views are rebuilt only when the shape changes, so a step does not allocate.
type nceState struct {
	work          *Buf
	rows, d       int
	u, sim, terms *Buf
}

func (c *CUDA) InfoNCELoss(z, dz, loss backend.Buffer, rows, d, shift int, temperature, scale float32) {
	mustFit("InfoNCELoss", z, rows*d)
	mustFit("InfoNCELoss", dz, rows*d)
	mustFit("InfoNCELoss", loss, 1)
	if rows == 0 {
		c.Fill(loss.Slice(0, 1), 0)
		return
	}
	shift %= rows
	if shift < 0 {
		shift += rows
	}
	if shift == 0 {
		panic(fmt.Sprintf("cuda: InfoNCELoss: shift ≡ 0 mod %d pairs every row with itself", rows))
	}
	s := &c.nce
	need := rows*d + rows*rows + rows
	if w := c.grow(&s.work, need); s.u == nil || s.rows != rows || s.d != d || s.u.root != w.root {
		s.rows, s.d = rows, d
		s.u = s.work.Slice(0, rows*d).(*Buf)
		s.sim = s.work.Slice(rows*d, rows*rows).(*Buf)
		s.terms = s.work.Slice(rows*d+rows*rows, rows).(*Buf)
	}
	invT := 1 / temperature
	c.L2Normalize(z, s.u, rows, d)
	// The loss stays fp32 even when the network's GEMMs run in TF32: its
	// logits are cosines divided by T, where TF32's 10-bit products would
	// cost visible precision.
	tf32 := c.gemm.tf32
	c.gemm.tf32 = false
	c.Gemm(false, true, rows, rows, d, invT, s.u, s.u, 0, s.sim)
	c.launch(kNCESoftmax, Dim3{rows, 1, 1}, opsBlock, P(s.sim), P(s.terms), I(rows), I(shift), F(invT))
	// ∂L/∂u = (G + Gᵀ)·u: the logits are symmetric in the two rows they pair.
	c.Gemm(false, false, rows, d, rows, 1, s.sim, s.u, 0, dz)
	c.Gemm(true, false, rows, d, rows, 1, s.sim, s.u, 1, dz)
	c.gemm.tf32 = tf32
	c.launch(kNCEGrad, Dim3{cdiv(rows, opsWarps), 1, 1}, opsBlock, P(z), P(s.u), P(dz), I(rows), I(d), F(scale))
	c.launch(kNCELossSum, Dim3{1, 1, 1}, opsBlock, P(s.terms), P(loss), I(rows), F(scale))
}
