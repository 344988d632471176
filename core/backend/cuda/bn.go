package cuda

import (
	"fmt"

	"github.com/byol-lab/byol-lab/core/backend"
)

// BatchNorm splits each (group, channel) pair's ng·S values into K chunks
// of at most bnChunk. With K = 1 (BatchNorm1d, small late layers) train and
// backward are one launch of a block per channel. Otherwise they are two on
// a K×pairs grid: chunk partial sums, then every block merges its pair's
// partials in a fixed order and writes its chunk. Eval is always one.

var (
	kBNTrainSmall    = kernel("bn_train_small")
	kBNBackwardSmall = kernel("bn_backward_small")
	kBNStats         = kernel("bn_stats")
	kBNTrainApply    = kernel("bn_train_apply")
	kBNEval          = kernel("bn_eval")
	kBNBackwardStats = kernel("bn_backward_stats")
	kBNBackwardApply = kernel("bn_backward_apply")
)

const bnChunk = 16 * opsThreads // BN_CHUNK in ops.cuh

// bnShape returns samples per group, values per pair and chunks per pair.
func bnShape(op string, g backend.BNGeom) (ng, m, k int) {
	if g.Groups <= 0 || g.N%g.Groups != 0 {
		panic(fmt.Sprintf("cuda: %s: %d samples in %d groups", op, g.N, g.Groups))
	}
	if g.Groups*g.C > 65535 {
		panic(fmt.Sprintf("cuda: %s: %d×%d (group, channel) pairs exceed a grid's y", op, g.Groups, g.C))
	}
	ng = g.N / g.Groups
	m = ng * g.S
	return ng, m, cdiv(m, bnChunk)
}

func (c *CUDA) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar backend.Buffer, g backend.BNGeom, momentum, eps float32) {
	ng, m, k := bnShape("BatchNormTrain", g)
	pairs := g.Groups * g.C
	if m == 0 || pairs == 0 {
		return
	}
	if k == 1 {
		c.launch(kBNTrainSmall, Dim3{g.C, 1, 1}, opsBlock, P(x), P(y), P(gamma), P(beta), P(saveMean), P(saveInvStd),
			P(runMean), P(runVar), I(ng), I(g.C), I(g.S), I(g.Groups), F(momentum), F(eps))
		return
	}
	part := c.scratchBuf(2 * pairs * k)
	grid := Dim3{k, pairs, 1}
	c.launch(kBNStats, grid, opsBlock, P(x), P(part), I(ng), I(g.C), I(g.S), I(k))
	c.launch(kBNTrainApply, grid, opsBlock, P(x), P(y), P(gamma), P(beta), P(saveMean), P(saveInvStd),
		P(runMean), P(runVar), P(part), I(ng), I(g.C), I(g.S), I(g.Groups), I(k), F(momentum), F(eps))
}

func (c *CUDA) BatchNormEval(x, y, gamma, beta, runMean, runVar backend.Buffer, g backend.BNGeom, eps float32) {
	// Eval uses running statistics: one "group" of all N samples.
	_, m, k := bnShape("BatchNormEval", backend.BNGeom{N: g.N, C: g.C, S: g.S, Groups: 1})
	if m == 0 || g.C == 0 {
		return
	}
	c.launch(kBNEval, Dim3{k, g.C, 1}, opsBlock, P(x), P(y), P(gamma), P(beta), P(runMean), P(runVar),
		I(g.N), I(g.C), I(g.S), I(k), F(eps))
}

func (c *CUDA) BatchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta backend.Buffer, g backend.BNGeom) {
	ng, m, k := bnShape("BatchNormBackward", g)
	pairs := g.Groups * g.C
	if m == 0 || pairs == 0 {
		return
	}
	if k == 1 {
		c.launch(kBNBackwardSmall, Dim3{g.C, 1, 1}, opsBlock, P(x), P(dy), P(gamma), P(saveMean), P(saveInvStd),
			P(dx), P(dgamma), P(dbeta), I(ng), I(g.C), I(g.S), I(g.Groups))
		return
	}
	part := c.scratchBuf(2 * pairs * k)
	grid := Dim3{k, pairs, 1}
	c.launch(kBNBackwardStats, grid, opsBlock, P(x), P(dy), P(saveMean), P(part), I(ng), I(g.C), I(g.S), I(k))
	c.launch(kBNBackwardApply, grid, opsBlock, P(x), P(dy), P(gamma), P(saveMean), P(saveInvStd), P(dx),
		P(dgamma), P(dbeta), P(part), I(ng), I(g.C), I(g.S), I(g.Groups), I(k))
}
