//go:build cuda || cudaemu

package cuda_test

import (
	"fmt"
	"testing"
)

// tf32 is the tolerance for the TF32 kernels: operands keep 10 of fp32's
// 23 mantissa bits.
const tf32 = 5e-3

// view is elements [off, off+n) of t on both sides.
func (t tensor) view(off, n int) tensor {
	return tensor{ref: t.ref.Slice(off, n), dev: t.dev.Slice(off, n), n: n}
}

// gemmCase runs one product on both backends and compares. beta = 0 starts
// the device's C as NaN, which must not leak into the result.
func gemmCase(p *pair, name string, ta, tb bool, m, n, k int, alpha, beta float32, tol float64) {
	p.t.Helper()
	a, b := p.randn(m*k, 1), p.randn(k*n, 1)
	c := p.out(m * n)
	if beta != 0 {
		c = p.randn(m*n, 1)
	}
	p.ref.Gemm(ta, tb, m, n, k, alpha, a.ref, b.ref, beta, c.ref)
	p.dev.Gemm(ta, tb, m, n, k, alpha, a.dev, b.dev, beta, c.dev)
	p.check(name, c, tol)
}

func transName(ta, tb bool) string {
	s := [2]string{"n", "t"}
	return s[b2i(ta)] + s[b2i(tb)]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var bools = []bool{false, true}

// TestGemm covers the four transposes, alpha/beta and odd sizes with the
// tiles chosen by shape.
func TestGemm(t *testing.T) {
	p := newPair(t)
	sizes := [][3]int{{1, 1, 1}, {7, 33, 129}, {33, 7, 257}, {129, 65, 33}, {1, 257, 7}, {257, 1, 65}, {40, 36, 20}}
	for _, s := range sizes {
		for _, ta := range bools {
			for _, tb := range bools {
				for _, ab := range [][2]float32{{1, 0}, {1.5, 0.5}, {-0.5, 1}} {
					name := fmt.Sprintf("%s m=%d n=%d k=%d alpha=%v beta=%v", transName(ta, tb), s[0], s[1], s[2], ab[0], ab[1])
					gemmCase(p, name, ta, tb, s[0], s[1], s[2], ab[0], ab[1], fp32)
				}
			}
		}
	}
}

// TestGemmTiles pins each fp32 tile and split count, on sizes with partial
// edge tiles: odd ones (scalar loads and stores) and multiples of 4 (the
// float4 paths).
func TestGemmTiles(t *testing.T) {
	p := newPair(t)
	defer p.dev.ForceGemm("", 0)
	for _, tile := range []string{"128", "64", "32"} {
		for _, splits := range []int{1, 3} {
			p.dev.ForceGemm(tile, splits)
			for _, ta := range bools {
				for _, tb := range bools {
					name := fmt.Sprintf("tile %s splits %d %s", tile, splits, transName(ta, tb))
					gemmCase(p, name+" odd", ta, tb, 131, 135, 45, 1, 0, fp32)
					gemmCase(p, name+" even", ta, tb, 132, 136, 44, 0.75, 0.5, fp32)
				}
			}
		}
	}
}

// TestGemmTF32 checks the tensor-core kernels (on the emulator, their
// shuffle-based stand-in for mma.sync, which follows the same fragment
// layout) at TF32's tolerance.
func TestGemmTF32(t *testing.T) {
	p := newPair(t)
	defer p.dev.SetTF32(false)
	defer p.dev.ForceGemm("", 0)
	for _, tile := range []string{"tf32-128", "tf32-64"} {
		for _, splits := range []int{1, 2} {
			p.dev.ForceGemm(tile, splits)
			for _, ta := range bools {
				for _, tb := range bools {
					name := fmt.Sprintf("tile %s splits %d %s", tile, splits, transName(ta, tb))
					gemmCase(p, name+" odd", ta, tb, 131, 75, 45, 1, 0, tf32)
					gemmCase(p, name+" even", ta, tb, 68, 136, 40, 0.75, 0.5, tf32)
				}
			}
		}
	}
	p.dev.ForceGemm("", 0)
	p.dev.SetTF32(true)
	gemmCase(p, "SetTF32 nn", false, false, 96, 200, 64, 1, 0, tf32)
	gemmCase(p, "SetTF32 tn", true, false, 20, 33, 300, 1, 0.5, tf32)
}

// TestGemmSplitK reaches split-K by shape: a few outputs with a long k,
// as in a convolution's filter gradient.
func TestGemmSplitK(t *testing.T) {
	p := newPair(t)
	gemmCase(p, "nt 16×27 k=2048 beta=0", false, true, 16, 27, 2048, 1, 0, fp32)
	gemmCase(p, "nt 16×27 k=2048 beta=1", false, true, 16, 27, 2048, 1, 1, fp32)
	gemmCase(p, "nn 40×72 k=1500 beta=0.5", false, false, 40, 72, 1500, 2, 0.5, fp32)
	gemmCase(p, "tt 65×9 k=777", true, true, 65, 9, 777, 1, 0, fp32)
}

// TestGemmModelShapes runs the tiny model's products at batch 2: the
// convolutions' forward (W·col), backward data (Wᵀ·dy) and filter
// (dy·colᵀ) GEMMs, and a head Linear with its gradients.
func TestGemmModelShapes(t *testing.T) {
	p := newPair(t)
	shapes := []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"conv0 fwd", false, false, 16, 2 * 1024, 27},
		{"conv1 fwd", false, false, 32, 2 * 256, 144},
		{"conv2 fwd", false, false, 64, 2 * 64, 288},
		{"conv0 bwd data", true, false, 27, 2 * 1024, 16},
		{"conv2 bwd data", true, false, 288, 2 * 64, 64},
		{"conv0 bwd filter", false, true, 16, 27, 2 * 1024},
		{"conv2 bwd filter", false, true, 64, 288, 2 * 64},
		{"linear fwd", false, true, 64, 512, 256},
		{"linear bwd data", false, false, 64, 256, 512},
		{"linear bwd filter", true, false, 512, 256, 64},
	}
	for _, s := range shapes {
		gemmCase(p, s.name, s.ta, s.tb, s.m, s.n, s.k, 1, 0, fp32)
	}
}

// TestGemmMisaligned uses views one float into their buffers, so no
// operand may take the float4 paths.
func TestGemmMisaligned(t *testing.T) {
	p := newPair(t)
	m, n, k := 68, 132, 36
	for _, ta := range bools {
		for _, tb := range bools {
			a, b, c := p.randn(m*k+1, 1).view(1, m*k), p.randn(k*n+1, 1).view(1, k*n), p.randn(m*n+1, 1).view(1, m*n)
			p.ref.Gemm(ta, tb, m, n, k, 1, a.ref, b.ref, 0.5, c.ref)
			p.dev.Gemm(ta, tb, m, n, k, 1, a.dev, b.dev, 0.5, c.dev)
			p.check("misaligned "+transName(ta, tb), c, fp32)
		}
	}
}

// TestGemmBatched checks the strided batch against one reference product
// per entry: A padded between entries (unaligned strides), B shared
// (stride 0), with and without split-K.
func TestGemmBatched(t *testing.T) {
	p := newPair(t)
	defer p.dev.ForceGemm("", 0)
	const batch, m, n, k = 3, 37, 45, 29
	sa, sc := m*k+5, m*n+3
	for _, splits := range []int{0, 2} {
		p.dev.ForceGemm("", splits)
		for _, ta := range bools {
			for _, tb := range bools {
				a, b := p.randn((batch-1)*sa+m*k, 1), p.randn(k*n, 1)
				c := p.randn((batch-1)*sc+m*n, 1)
				for i := 0; i < batch; i++ {
					p.ref.Gemm(ta, tb, m, n, k, 1.25, a.ref.Slice(i*sa, m*k), b.ref, 0.5, c.ref.Slice(i*sc, m*n))
				}
				p.dev.GemmBatched(ta, tb, m, n, k, 1.25, a.dev, sa, b.dev, 0, 0.5, c.dev, sc, batch)
				p.check(fmt.Sprintf("batched splits %d %s", splits, transName(ta, tb)), c, fp32)

				// beta = 0 over packed, NaN-filled outputs.
				c = p.out(batch * m * n)
				for i := 0; i < batch; i++ {
					p.ref.Gemm(ta, tb, m, n, k, 1, a.ref.Slice(i*sa, m*k), b.ref, 0, c.ref.Slice(i*m*n, m*n))
				}
				p.dev.GemmBatched(ta, tb, m, n, k, 1, a.dev, sa, b.dev, 0, 0, c.dev, m*n, batch)
				p.check(fmt.Sprintf("batched beta=0 splits %d %s", splits, transName(ta, tb)), c, fp32)
			}
		}
	}
}
