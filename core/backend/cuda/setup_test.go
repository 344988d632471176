//go:build cuda || cudaemu

package cuda_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/backend/cuda"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// The conformance suite: every test runs an operation on the CPU backend
// (the reference) and on the CUDA backend (a GPU under tag cuda, the CPU
// emulator of the same kernel sources under tag cudaemu) with the same
// random inputs, and compares. Outputs start as NaN on the device, so an
// element a kernel forgets to write fails the comparison, and so do
// workspaces each time an op takes one, so a read of workspace not written
// by the same op fails it too.

// pair is the reference and the backend under test.
type pair struct {
	t   *testing.T
	ref *cpu.CPU
	dev *cuda.CUDA
	rng *rand.Rand

	offset int // where set, tensors are slices this many floats into a buffer (unaligned for float4)
}

var sharedDriver cuda.Driver

func newPair(t *testing.T) *pair {
	t.Helper()
	if sharedDriver == nil {
		sharedDriver = openDriver(t)
	}
	dev, err := cuda.New(sharedDriver)
	if err != nil {
		t.Fatal(err)
	}
	dev.PoisonWorkspaces(true)
	return &pair{t: t, ref: cpu.New(parallel.New(2)), dev: dev, rng: rand.New(rand.NewPCG(uint64(len(t.Name())), 7))}
}

// tensor is the same data on both backends.
type tensor struct {
	ref, dev backend.Buffer
	n        int
}

// randn returns n normal values scaled by s on both backends.
func (p *pair) randn(n int, s float32) tensor {
	h := make([]float32, n)
	for i := range h {
		h[i] = s * float32(p.rng.NormFloat64())
	}
	return p.from(h)
}

// uniform returns n values in [lo, hi) on both backends.
func (p *pair) uniform(n int, lo, hi float32) tensor {
	h := make([]float32, n)
	for i := range h {
		h[i] = lo + (hi-lo)*p.rng.Float32()
	}
	return p.from(h)
}

// from uploads host data to both backends.
func (p *pair) from(h []float32) tensor {
	t := p.alloc(len(h))
	p.ref.Upload(t.ref, h)
	p.dev.Upload(t.dev, h)
	return t
}

// out returns an output tensor: zero on the reference, NaN on the device.
func (p *pair) out(n int) tensor {
	t := p.alloc(n)
	p.dev.Fill(t.dev, float32(math.NaN()))
	return t
}

// alloc returns n zeros on both backends, p.offset floats into the buffers.
func (p *pair) alloc(n int) tensor {
	return tensor{ref: p.ref.Alloc(n+p.offset).Slice(p.offset, n), dev: p.dev.Alloc(n+p.offset).Slice(p.offset, n), n: n}
}

// host downloads both sides.
func (p *pair) host(t tensor) (ref, dev []float32) {
	ref, dev = make([]float32, t.n), make([]float32, t.n)
	p.ref.Download(ref, t.ref)
	p.dev.Download(dev, t.dev)
	return ref, dev
}

// check compares t on both sides: every device element finite where the
// reference is, and max|dev−ref| ≤ tol·max(1, max|ref|).
func (p *pair) check(name string, t tensor, tol float64) {
	p.t.Helper()
	ref, dev := p.host(t)
	if err := p.dev.Sync(); err != nil {
		p.t.Fatalf("%s: %v", name, err)
	}
	maxRef, maxDiff, worst := 0.0, 0.0, -1
	for i := range ref {
		r, d := float64(ref[i]), float64(dev[i])
		if math.IsNaN(d) != math.IsNaN(r) || math.IsInf(d, 0) != math.IsInf(r, 0) {
			p.t.Fatalf("%s: element %d of %d is %v on the device, %v on the CPU", name, i, len(ref), d, r)
		}
		maxRef = max(maxRef, math.Abs(r))
		if diff := math.Abs(d - r); diff > maxDiff {
			maxDiff, worst = diff, i
		}
	}
	if rel := maxDiff / max(1, maxRef); rel > tol {
		p.t.Errorf("%s: max |gpu−cpu| = %.3g at %d (cpu %v, gpu %v), relative %.3g > %.3g",
			name, maxDiff, worst, ref[worst], dev[worst], rel, tol)
	} else {
		p.t.Logf("%s: %d elements, relative error %.2g", name, len(ref), rel)
	}
}

// fp32 is the tolerance for float32 kernels that differ from the CPU only in
// summation order.
const fp32 = 1e-4
