//go:build cuda || cudaemu

package cuda_test

import (
	"fmt"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
)

// convCase runs forward, backward data and backward filter for g on both
// backends and compares each output.
func convCase(p *pair, name string, g backend.ConvGeom, tol float64) {
	p.t.Helper()
	xn, wn, yn := g.N*g.Cin*g.H*g.W, g.Cout*g.Cin*g.K*g.K, g.N*g.Cout*g.OutH()*g.OutW()
	x, w := p.randn(xn, 1), p.randn(wn, 0.3)

	y := p.out(yn)
	p.ref.Conv2d(x.ref, w.ref, y.ref, g)
	p.dev.Conv2d(x.dev, w.dev, y.dev, g)
	p.check(name+" forward", y, tol)

	dy, dx := p.randn(yn, 1), p.out(xn)
	p.ref.Conv2dBackwardData(dy.ref, w.ref, dx.ref, g)
	p.dev.Conv2dBackwardData(dy.dev, w.dev, dx.dev, g)
	p.check(name+" backward data", dx, tol)

	dw := p.out(wn)
	p.ref.Conv2dBackwardFilter(x.ref, dy.ref, dw.ref, g)
	p.dev.Conv2dBackwardFilter(x.dev, dy.dev, dw.dev, g)
	p.check(name+" backward filter", dw, tol)
}

// convGeoms are the tiny model's convolutions (MNIST's 28×28×1 and
// CIFAR's 32×32×3 inputs), a ResNet shortcut, and odd geometries.
var convGeoms = []struct {
	name string
	g    backend.ConvGeom
}{
	{"tiny0 28×28×1", backend.ConvGeom{N: 2, Cin: 1, H: 28, W: 28, Cout: 16, K: 3, Stride: 1, Pad: 1}},
	{"tiny1 28×28", backend.ConvGeom{N: 2, Cin: 16, H: 28, W: 28, Cout: 32, K: 3, Stride: 2, Pad: 1}},
	{"tiny2 14×14", backend.ConvGeom{N: 2, Cin: 32, H: 14, W: 14, Cout: 64, K: 3, Stride: 2, Pad: 1}},
	{"tiny0 32×32×3", backend.ConvGeom{N: 2, Cin: 3, H: 32, W: 32, Cout: 16, K: 3, Stride: 1, Pad: 1}},
	{"tiny1 32×32", backend.ConvGeom{N: 2, Cin: 16, H: 32, W: 32, Cout: 32, K: 3, Stride: 2, Pad: 1}},
	{"tiny2 16×16", backend.ConvGeom{N: 2, Cin: 32, H: 16, W: 16, Cout: 64, K: 3, Stride: 2, Pad: 1}},
	{"shortcut 1×1/2", backend.ConvGeom{N: 2, Cin: 16, H: 16, W: 16, Cout: 32, K: 1, Stride: 2, Pad: 0}},
	{"1×1/1", backend.ConvGeom{N: 3, Cin: 8, H: 5, W: 7, Cout: 12, K: 1, Stride: 1, Pad: 0}},
	{"odd 3×3/2", backend.ConvGeom{N: 3, Cin: 5, H: 9, W: 7, Cout: 6, K: 3, Stride: 2, Pad: 1}},
	{"odd 5×5/3", backend.ConvGeom{N: 1, Cin: 3, H: 11, W: 13, Cout: 7, K: 5, Stride: 3, Pad: 2}},
	{"even 2×2 no pad", backend.ConvGeom{N: 2, Cin: 4, H: 6, W: 5, Cout: 3, K: 2, Stride: 1, Pad: 0}},
	{"wide pad", backend.ConvGeom{N: 1, Cin: 2, H: 4, W: 4, Cout: 5, K: 3, Stride: 1, Pad: 2}},
	{"single pixel", backend.ConvGeom{N: 4, Cin: 33, H: 1, W: 1, Cout: 65, K: 1, Stride: 1, Pad: 0}},
}

func TestConv(t *testing.T) {
	p := newPair(t)
	for _, c := range convGeoms {
		convCase(p, c.name, c.g, fp32)
	}
}

// TestConvChunked shrinks the workspace so the batch runs in chunks of one
// and two images: the filter gradient then accumulates across chunks.
func TestConvChunked(t *testing.T) {
	p := newPair(t)
	defer p.dev.SetConvWorkLimit(0)
	g := backend.ConvGeom{N: 5, Cin: 3, H: 10, W: 9, Cout: 8, K: 3, Stride: 1, Pad: 1}
	per := (g.Cin*g.K*g.K + g.Cout) * g.OutH() * g.OutW()
	for _, images := range []int{1, 2} {
		p.dev.SetConvWorkLimit(images * per)
		convCase(p, fmt.Sprintf("chunks of %d", images), g, fp32)
	}
}

// TestConvTF32 runs the convolutions through the TF32 kernels.
func TestConvTF32(t *testing.T) {
	p := newPair(t)
	p.dev.SetTF32(true)
	defer p.dev.SetTF32(false)
	for _, c := range convGeoms[3:7] {
		convCase(p, c.name+" tf32", c.g, tf32)
	}
}
