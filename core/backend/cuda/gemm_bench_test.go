//go:build cuda

package cuda_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cuda"
)

// benchShapes are the products a training step runs, at batch 256 on
// 32×32 inputs: arch small's convolutions (M = Cout, N = batch·Ho·Wo,
// K = Cin·9 forward; Wᵀ·dy and dy·colᵀ backward), resnet18's first and last
// stages, and a head's Linear layers (512 rows), besides the 4096³ yardstick.
var benchShapes = []struct {
	name    string
	ta, tb  bool
	m, n, k int
}{
	{"4096³", false, false, 4096, 4096, 4096},
	{"4096³ nt", false, true, 4096, 4096, 4096},
	{"4096³ tn", true, false, 4096, 4096, 4096},
	{"small conv0 fwd", false, false, 32, 256 * 1024, 27},
	{"small conv1 fwd", false, false, 64, 256 * 256, 288},
	{"small conv2 fwd", false, false, 128, 256 * 64, 576},
	{"small conv2 bwd data", true, false, 576, 256 * 64, 128},
	{"small conv1 bwd filter", false, true, 64, 288, 256 * 256},
	{"small conv2 bwd filter", false, true, 128, 576, 256 * 64},
	{"resnet18 64ch fwd", false, false, 64, 256 * 1024, 576},
	{"resnet18 64ch bwd data", true, false, 576, 256 * 1024, 64},
	{"resnet18 64ch bwd filter", false, true, 64, 576, 256 * 1024},
	{"resnet18 512ch fwd", false, false, 512, 256 * 16, 4608},
	{"resnet18 512ch bwd filter", false, true, 512, 4608, 256 * 16},
	{"head linear 512×512", false, true, 512, 512, 512},
	{"head linear 512→4096", false, true, 512, 4096, 512},
}

// benchDevice opens the GPU once for all benchmarks.
func benchDevice(b *testing.B) *cuda.CUDA {
	if sharedDriver == nil {
		d, err := cuda.OpenGPU(0)
		if err != nil {
			b.Fatal(err)
		}
		sharedDriver = d
	}
	c, err := cuda.New(sharedDriver)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchRandn(c *cuda.CUDA, rng *rand.Rand, n int) backend.Buffer {
	h := make([]float32, n)
	for i := range h {
		h[i] = float32(rng.NormFloat64())
	}
	buf := c.Alloc(n)
	c.Upload(buf, h)
	return buf
}

// BenchmarkSgemm reports each shape's rate in GFLOP/s, fp32 and TF32.
func BenchmarkSgemm(b *testing.B) {
	c := benchDevice(b)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range benchShapes {
		a, bb, cc := benchRandn(c, rng, s.m*s.k), benchRandn(c, rng, s.k*s.n), c.Alloc(s.m*s.n)
		for _, tf := range []bool{false, true} {
			mode := "fp32"
			if tf {
				mode = "tf32"
			}
			b.Run(fmt.Sprintf("%s/%s/m=%d,n=%d,k=%d", s.name, mode, s.m, s.n, s.k), func(b *testing.B) {
				c.SetTF32(tf)
				defer c.SetTF32(false)
				c.Gemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, bb, 0, cc) // warm-up: workspaces, module
				if err := c.Sync(); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c.Gemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, bb, 0, cc)
				}
				if err := c.Sync(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				flop := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkConv times a whole convolution (im2col, GEMM, layout kernels;
// the implicit GEMM; Winograd F(2×2) and F(4×4) where they apply) for
// arch small's and resnet18's layers, each algorithm right after the other, in GFLOP/s of the convolution's
// arithmetic. resnet18 runs at 1024 images: both views of a batch of 512.
func BenchmarkConv(b *testing.B) {
	c := benchDevice(b)
	defer c.SetConvAlgo(cuda.ConvIm2col)
	rng := rand.New(rand.NewPCG(3, 4))
	geoms := []struct {
		name string
		g    backend.ConvGeom
	}{
		{"small conv1", backend.ConvGeom{N: 512, Cin: 32, H: 32, W: 32, Cout: 64, K: 3, Stride: 2, Pad: 1}},
		{"small conv2", backend.ConvGeom{N: 512, Cin: 64, H: 16, W: 16, Cout: 128, K: 3, Stride: 2, Pad: 1}},
		{"resnet18 64ch", backend.ConvGeom{N: 1024, Cin: 64, H: 32, W: 32, Cout: 64, K: 3, Stride: 1, Pad: 1}},
		{"resnet18 128ch", backend.ConvGeom{N: 1024, Cin: 128, H: 16, W: 16, Cout: 128, K: 3, Stride: 1, Pad: 1}},
		{"resnet18 256ch", backend.ConvGeom{N: 1024, Cin: 256, H: 8, W: 8, Cout: 256, K: 3, Stride: 1, Pad: 1}},
		{"resnet18 512ch", backend.ConvGeom{N: 1024, Cin: 512, H: 4, W: 4, Cout: 512, K: 3, Stride: 1, Pad: 1}},
		{"resnet18 64→128/2", backend.ConvGeom{N: 1024, Cin: 64, H: 32, W: 32, Cout: 128, K: 3, Stride: 2, Pad: 1}},
	}
	for _, gc := range geoms {
		g := gc.g
		xn, wn, yn := g.N*g.Cin*g.H*g.W, g.Cout*g.Cin*g.K*g.K, g.N*g.Cout*g.OutH()*g.OutW()
		x, w, y := benchRandn(c, rng, xn), benchRandn(c, rng, wn), benchRandn(c, rng, yn)
		dx, dw := c.Alloc(xn), c.Alloc(wn)
		flop := 2 * float64(g.Cout) * float64(g.Cin*g.K*g.K) * float64(g.N*g.OutH()*g.OutW())
		ops := []struct {
			name string
			run  func()
		}{
			{"forward", func() { c.Conv2d(x, w, y, g) }},
			{"backward data", func() { c.Conv2dBackwardData(y, w, dx, g) }},
			{"backward filter", func() { c.Conv2dBackwardFilter(x, y, dw, g) }},
		}
		for _, op := range ops {
			for _, algo := range []cuda.ConvAlgo{cuda.ConvIm2col, cuda.ConvImplicit, cuda.ConvWinograd, cuda.ConvWinograd4} {
				b.Run(gc.name+"/"+op.name+"/"+algo.String(), func(b *testing.B) {
					c.SetConvAlgo(algo)
					op.run()
					if err := c.Sync(); err != nil {
						b.Fatal(err)
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						op.run()
					}
					if err := c.Sync(); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
