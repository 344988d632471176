//go:build cuda || cudaemu

package cuda_test

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cuda"
)

// convCase runs forward, backward data and backward filter for g on both
// backends and compares each output.
func convCase(p *pair, name string, g backend.ConvGeom, tol float64) {
	p.t.Helper()
	convCaseThen(p, name, g, tol, func(string) {})
}

// convCaseThen is convCase calling then after each pass on the device
// ("forward", "backward data", "backward filter").
func convCaseThen(p *pair, name string, g backend.ConvGeom, tol float64, then func(pass string)) {
	p.t.Helper()
	xn, wn, yn := g.N*g.Cin*g.H*g.W, g.Cout*g.Cin*g.K*g.K, g.N*g.Cout*g.OutH()*g.OutW()
	x, w := p.randn(xn, 1), p.randn(wn, 0.3)

	y := p.out(yn)
	p.ref.Conv2d(x.ref, w.ref, y.ref, g)
	p.dev.Conv2d(x.dev, w.dev, y.dev, g)
	then("forward")
	p.check(name+" forward", y, tol)

	dy, dx := p.randn(yn, 1), p.out(xn)
	p.ref.Conv2dBackwardData(dy.ref, w.ref, dx.ref, g)
	p.dev.Conv2dBackwardData(dy.dev, w.dev, dx.dev, g)
	then("backward data")
	p.check(name+" backward data", dx, tol)

	dw := p.out(wn)
	p.ref.Conv2dBackwardFilter(x.ref, dy.ref, dw.ref, g)
	p.dev.Conv2dBackwardFilter(x.dev, dy.dev, dw.dev, g)
	then("backward filter")
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

// TestConvOnUnalignedSlices runs the convolutions on tensors that start one
// float into their buffers, where the float4 moves of the im2col path
// (rows of a multiple of 4) must fall back to single floats. On the
// emulator a misaligned float4 faults (g++ moves it with an aligned SSE
// instruction), as it does on a GPU.
func TestConvOnUnalignedSlices(t *testing.T) {
	p := newPair(t)
	p.offset = 1
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

// launchLog is a Driver that remembers the kernels launched through it.
type launchLog struct {
	cuda.Driver
	names    map[cuda.Kernel]string
	launched []string
	reads    int // device→host copies, each a wait for the device
}

func (l *launchLog) DtoH(dst unsafe.Pointer, src cuda.Ptr, bytes int) {
	l.reads++
	l.Driver.DtoH(dst, src, bytes)
}

func (l *launchLog) Kernel(name string) (cuda.Kernel, error) {
	k, err := l.Driver.Kernel(name)
	l.names[k] = name
	return k, err
}

func (l *launchLog) Launch(k cuda.Kernel, grid, block cuda.Dim3, args []uint64) {
	l.launched = append(l.launched, l.names[k])
	l.Driver.Launch(k, grid, block, args)
}

// logLaunches makes p's device backend launch through a launchLog.
func (p *pair) logLaunches() *launchLog {
	log := &launchLog{Driver: sharedDriver, names: map[cuda.Kernel]string{}}
	dev, err := cuda.New(log)
	if err != nil {
		p.t.Fatal(err)
	}
	p.dev = dev
	return log
}

// took reports whether a kernel whose name starts with prefix ran since the
// last call, and forgets the launches.
func (l *launchLog) took(prefix string) bool {
	defer func() { l.launched = l.launched[:0] }()
	for _, n := range l.launched {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// implicitGeoms add ResNet-like layers to convGeoms: row widths of 4 and 8
// with batches that leave partial tiles, and a 3×3 stride-2 layer whose
// backward data stays on im2col.
var implicitGeoms = append([]struct {
	name string
	g    backend.ConvGeom
}{
	{"resnet 3×3 8×8", backend.ConvGeom{N: 3, Cin: 8, H: 8, W: 8, Cout: 12, K: 3, Stride: 1, Pad: 1}},
	{"resnet 3×3 4×4", backend.ConvGeom{N: 5, Cin: 20, H: 4, W: 4, Cout: 36, K: 3, Stride: 1, Pad: 1}},
	{"resnet 3×3/2 8→4", backend.ConvGeom{N: 3, Cin: 6, H: 8, W: 8, Cout: 10, K: 3, Stride: 2, Pad: 1}},
	{"resnet 1×1/2 8→4", backend.ConvGeom{N: 3, Cin: 6, H: 8, W: 8, Cout: 10, K: 1, Stride: 2, Pad: 0}},
}, convGeoms...)

// TestConvImplicit runs every convolution through the implicit GEMM on
// every tile, with and without split-K, and checks that the implicit
// kernels ran exactly where the geometry allows them.
func TestConvImplicit(t *testing.T) {
	p := newPair(t)
	log := p.logLaunches()
	dev := p.dev
	dev.SetConvAlgo(cuda.ConvImplicit)
	for _, tile := range []string{"", "128", "64", "32"} {
		for _, splits := range []int{0, 3} {
			dev.ForceGemm(tile, splits)
			for _, c := range implicitGeoms {
				name := fmt.Sprintf("%s tile %q splits %d", c.name, tile, splits)
				g := c.g
				convCaseThen(p, name, g, fp32, func(pass string) {
					kernel, want := "conv_fwd_", g.OutW()%4 == 0
					switch pass {
					case "backward data":
						kernel, want = "conv_bwd_data_", g.Stride == 1 && g.W%4 == 0
					case "backward filter":
						kernel = "conv_bwd_filter_"
					}
					if got := log.took(kernel); got != want {
						t.Errorf("%s: %s implicit = %v, want %v", name, pass, got, want)
					}
				})
			}
		}
	}
}

// TestConvImplicitTF32 runs the implicit convolutions on the TF32 tiles.
func TestConvImplicitTF32(t *testing.T) {
	p := newPair(t)
	p.dev.SetConvAlgo(cuda.ConvImplicit)
	for _, tile := range []string{"tf32-128", "tf32-64"} {
		for _, splits := range []int{0, 2} {
			p.dev.ForceGemm(tile, splits)
			for _, c := range implicitGeoms[:6] {
				convCase(p, fmt.Sprintf("%s %s splits %d", c.name, tile, splits), c.g, tf32)
			}
		}
	}
}

// winoGeoms are 3×3 stride-1 layers with ≥ 16 channels: ResNet stages,
// odd sizes that leave partial 2×2 tiles, no padding and wide padding.
var winoGeoms = []struct {
	name string
	g    backend.ConvGeom
}{
	{"resnet 8×8", backend.ConvGeom{N: 3, Cin: 16, H: 8, W: 8, Cout: 20, K: 3, Stride: 1, Pad: 1}},
	{"resnet 4×4", backend.ConvGeom{N: 5, Cin: 24, H: 4, W: 4, Cout: 16, K: 3, Stride: 1, Pad: 1}},
	{"odd 7×5", backend.ConvGeom{N: 2, Cin: 17, H: 7, W: 5, Cout: 16, K: 3, Stride: 1, Pad: 1}},
	{"no pad 6×9", backend.ConvGeom{N: 2, Cin: 16, H: 6, W: 9, Cout: 18, K: 3, Stride: 1, Pad: 0}},
	{"pad 2 5×5", backend.ConvGeom{N: 2, Cin: 16, H: 5, W: 5, Cout: 16, K: 3, Stride: 1, Pad: 2}},
	{"single pixel", backend.ConvGeom{N: 3, Cin: 16, H: 1, W: 1, Cout: 16, K: 3, Stride: 1, Pad: 1}},
}

// TestConvWinograd runs the 3×3 stride-1 layers through Winograd F(2×2)
// and F(4×4) (all three passes) on every fp32 tile of the batched GEMM,
// with split-K for the filter gradient and in chunks of images, and checks
// that layers Winograd does not suit are left to the other algorithms.
func TestConvWinograd(t *testing.T) {
	for _, a := range []cuda.ConvAlgo{cuda.ConvWinograd, cuda.ConvWinograd4} {
		t.Run(a.String(), func(t *testing.T) { testConvWinograd(t, a) })
	}
}

func testConvWinograd(t *testing.T, algo cuda.ConvAlgo) {
	p := newPair(t)
	log := p.logLaunches()
	dev := p.dev
	dev.SetConvAlgo(algo)
	prefix := map[cuda.ConvAlgo]string{cuda.ConvWinograd: "wino2_", cuda.ConvWinograd4: "wino4_"}[algo]
	run := func(name string, g backend.ConvGeom, wantWino bool) {
		convCaseThen(p, name, g, fp32, func(pass string) {
			if got := log.took(prefix); got != wantWino {
				t.Errorf("%s: %s ran Winograd = %v, want %v", name, pass, got, wantWino)
			}
		})
	}
	for _, tile := range []string{"", "128", "64", "32"} {
		for _, splits := range []int{0, 3} {
			dev.ForceGemm(tile, splits)
			for _, c := range winoGeoms {
				run(fmt.Sprintf("%s tile %q splits %d", c.name, tile, splits), c.g, true)
			}
		}
	}
	dev.ForceGemm("", 0)
	g := winoGeoms[0].g
	tt := map[cuda.ConvAlgo]int{cuda.ConvWinograd: 16, cuda.ConvWinograd4: 36}[algo]
	tiles := map[cuda.ConvAlgo]int{cuda.ConvWinograd: 16, cuda.ConvWinograd4: 4}[algo] // of an 8×8 image
	for _, images := range []int{1, 2} {
		dev.SetConvWorkLimit(images * tt * (g.Cin + g.Cout) * tiles)
		run(fmt.Sprintf("chunks of %d", images), g, true)
	}
	dev.SetConvWorkLimit(0)
	for _, c := range []struct {
		name string
		g    backend.ConvGeom
	}{
		{"stride 2", backend.ConvGeom{N: 2, Cin: 16, H: 8, W: 8, Cout: 16, K: 3, Stride: 2, Pad: 1}},
		{"1×1", backend.ConvGeom{N: 2, Cin: 16, H: 8, W: 8, Cout: 16, K: 1, Stride: 1, Pad: 0}},
		{"RGB stem", backend.ConvGeom{N: 2, Cin: 3, H: 8, W: 8, Cout: 16, K: 3, Stride: 1, Pad: 1}},
	} {
		run(c.name, c.g, false)
	}
}

// TestConvAuto: under ConvAuto the first call of each pass times every
// algorithm that applies and keeps the fastest; later calls run only that
// one. Results are right either way.
func TestConvAuto(t *testing.T) {
	p := newPair(t)
	log := p.logLaunches()
	dev := p.dev
	dev.SetConvAlgo(cuda.ConvAuto)
	for _, c := range []struct {
		name  string
		g     backend.ConvGeom
		algos int // that apply to every pass
	}{
		{"3×3/1 8×8", winoGeoms[0].g, 4},
		{"3×3/2 8→4", implicitGeoms[2].g, 2},
		{"odd 7×5 3×3/1", winoGeoms[2].g, 2},
	} {
		g := c.g
		xn, wn, yn := g.N*g.Cin*g.H*g.W, g.Cout*g.Cin*g.K*g.K, g.N*g.Cout*g.OutH()*g.OutW()
		x, w, dy := p.randn(xn, 1), p.randn(wn, 0.3), p.randn(yn, 1)
		y, dw := p.out(yn), p.out(wn)
		p.ref.Conv2d(x.ref, w.ref, y.ref, g)
		p.ref.Conv2dBackwardFilter(x.ref, dy.ref, dw.ref, g)
		var first, again int
		for call := range 2 {
			log.launched = log.launched[:0]
			dev.Conv2d(x.dev, w.dev, y.dev, g)
			dev.Conv2dBackwardFilter(x.dev, dy.dev, dw.dev, g)
			if call == 0 {
				first = len(log.launched)
			} else {
				again = len(log.launched)
			}
			p.check(fmt.Sprintf("%s call %d forward", c.name, call), y, fp32)
			p.check(fmt.Sprintf("%s call %d backward filter", c.name, call), dw, fp32)
		}
		// The first call ran each applicable algorithm twice (warm, timed)
		// and the chosen one a third time.
		if again == 0 || first < (2*c.algos+1)*again/2 {
			t.Errorf("%s: %d launches on the first call, %d on the second: not tuned once and kept", c.name, first, again)
		}
	}
	choices := dev.ConvChoices()
	t.Log("\n" + strings.Join(choices, "\n"))
	if len(choices) != 6 {
		t.Fatalf("%d choices, want 6 (3 layers × 2 passes)", len(choices))
	}
	for _, want := range []string{"forward", "backward filter", "im2col", "implicit", "winograd ", "winograd4", " ms"} {
		if !strings.Contains(strings.Join(choices, "\n"), want) {
			t.Errorf("choices lack %q", want)
		}
	}
}
