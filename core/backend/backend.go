// Package backend defines the compute interface a BYOL training step runs on.
//
// Two implementations exist: cpu (pure Go, builds everywhere, the reference)
// and cuda (build tag cuda). The interface is shaped by what a GPU needs:
// float32 data lives in backend-owned Buffers that the host touches only
// through Upload and Download, and every operation is a whole-tensor kernel.
// A network's parameters live in one contiguous Buffer (its gradients in
// another), and layers hold views into it, so EMA, optimiser steps and
// checkpoints are single passes over one buffer.
//
// Layout conventions: images are NCHW; dense activations are rows×cols,
// row-major; matrices in Gemm are row-major.
package backend

// Buffer is float32 storage owned by a backend. Slice returns a view that
// shares memory; views are created at setup time, never per step.
type Buffer interface {
	Len() int
	Slice(off, n int) Buffer
}

// ConvGeom describes a 2-D convolution of a batch of NCHW images with a
// Cout×Cin×K×K filter bank, no bias (BatchNorm follows every convolution).
type ConvGeom struct {
	N, Cin, H, W int // input
	Cout, K      int // filters
	Stride, Pad  int
}

// OutH is the output height.
func (g ConvGeom) OutH() int { return (g.H+2*g.Pad-g.K)/g.Stride + 1 }

// OutW is the output width.
func (g ConvGeom) OutW() int { return (g.W+2*g.Pad-g.K)/g.Stride + 1 }

// BNGeom describes BatchNorm over x laid out as N×C×S (S = spatial size, 1
// for BatchNorm1d). Statistics are per channel over each group of N/Groups
// consecutive samples: BYOL feeds both views through a network as one batch
// of 2B with Groups = 2, which gives each view its own batch statistics,
// exactly as two separate forward passes would.
type BNGeom struct {
	N, C, S int
	Groups  int
}

// Segment is one parameter tensor inside a flat parameter buffer, with the
// per-tensor choices optimisers need.
type Segment struct {
	Off, Len int
	LRScale  float32 // multiplies the learning rate (e.g. the predictor's multiplier)
	Decay    bool    // apply weight decay
	Adapt    bool    // apply LARS trust-ratio adaptation
}

// AdamHyper holds AdamW's hyper-parameters for one step; Step counts from 1.
type AdamHyper struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Step                               int
}

// SGDHyper holds SGD-with-momentum and LARS hyper-parameters for one step.
type SGDHyper struct {
	LR, Momentum, WeightDecay float32
	Trust                     float32 // LARS trust coefficient η (0.001 in the paper); unused by SGD
}

// Backend is the set of operations a BYOL step needs.
type Backend interface {
	Name() string

	// Memory. Alloc returns a zeroed buffer.
	Alloc(n int) Buffer
	Upload(dst Buffer, src []float32)
	Download(dst []float32, src Buffer)
	Copy(dst, src Buffer)
	Fill(dst Buffer, v float32)

	// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major m×k op(A)
	// and k×n op(B); beta = 0 overwrites C without reading it.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a, b Buffer, beta float32, c Buffer)
	// AddBias adds bias[j] to every row of the rows×cols matrix y.
	AddBias(y, bias Buffer, rows, cols int)
	// BiasGrad sets db[j] = Σ_i dy[i, j].
	BiasGrad(db, dy Buffer, rows, cols int)

	Conv2d(x, w, y Buffer, g ConvGeom)
	Conv2dBackwardData(dy, w, dx Buffer, g ConvGeom)
	// Conv2dBackwardFilter overwrites dw with the filter gradient.
	Conv2dBackwardFilter(x, dy, dw Buffer, g ConvGeom)

	// BatchNormTrain normalises with batch statistics, saving each group's
	// mean and 1/std (Groups×C each) for the backward pass, and updates the
	// running statistics once per group: r ← (1−momentum)·r + momentum·stat,
	// with the unbiased variance, as PyTorch does.
	BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar Buffer, g BNGeom, momentum, eps float32)
	BatchNormEval(x, y, gamma, beta, runMean, runVar Buffer, g BNGeom, eps float32)
	// BatchNormBackward overwrites dx, dgamma and dbeta.
	BatchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta Buffer, g BNGeom)

	// ReLU may run in place (y == x). ReLUBackward masks dy by y > 0 and may
	// run in place (dx == dy).
	ReLU(x, y Buffer, n int)
	ReLUBackward(y, dy, dx Buffer, n int)
	// Add sets y = a + b elementwise (y may alias a or b).
	Add(y, a, b Buffer, n int)

	// GlobalAvgPool averages each of the N×C planes of size S into y (N×C).
	GlobalAvgPool(x, y Buffer, n, c, s int)
	GlobalAvgPoolBackward(dy, dx Buffer, n, c, s int)

	// L2Normalize writes each row of x (rows×d) divided by its ℓ2 norm.
	L2Normalize(x, y Buffer, rows, d int)
	// BYOLLoss pairs row i of p with row (i+shift) mod rows of z and computes
	// scale·Σ_i (2 − 2·cos(p_i, z_j)) into loss[0] and its gradient with
	// respect to p (times scale) into dp. z is a constant (stop-gradient).
	BYOLLoss(p, z, dp, loss Buffer, rows, d, shift int, scale float32)
	// InfoNCELoss is SimCLR's NT-Xent loss. Like BYOLLoss it normalises
	// internally: with u_i = z_i/max(‖z_i‖, 1e-12), s_ik = u_i·u_k/T and
	// row i's positive j = (i+shift) mod rows, it computes
	// scale·Σ_i (log Σ_{k≠i} exp(s_ik) − s_ij) into loss[0] and its gradient
	// with respect to z (times scale) into dz. Every row is an anchor and a
	// negative of every other row; shift ≢ 0 mod rows (it panics otherwise).
	InfoNCELoss(z, dz, loss Buffer, rows, d, shift int, temperature, scale float32)

	// EMA sets target ← tau·target + (1−tau)·online over the whole buffer.
	EMA(target, online Buffer, tau float32)
	// Optimiser updates over a flat parameter buffer, one pass per call.
	// Segments not listed are left untouched.
	AdamW(p, g, m, v Buffer, segs []Segment, h AdamHyper)
	SGD(p, g, mom Buffer, segs []Segment, h SGDHyper)
	LARS(p, g, mom Buffer, segs []Segment, h SGDHyper)

	// SumSquares returns Σ x² (e.g. for gradient norms and NaN checks:
	// a non-finite value anywhere makes the result non-finite).
	SumSquares(x Buffer) float32
}
